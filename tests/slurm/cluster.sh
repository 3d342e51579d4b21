#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for tests/slurm/test_slurm.py and `make test-slurm`.
#
#   tests/slurm/cluster.sh start    install (Debian packages, once) and start it; idempotent
#   tests/slurm/cluster.sh status   exit 0 if the node is up and accepts jobs
#   tests/slurm/cluster.sh stop     shut every daemon it started down
#   tests/slurm/cluster.sh env      print the environment that SLURM commands need (SLURM_CONF)
#   tests/slurm/cluster.sh clean    stop, then delete the state folder (job history, database)
#
# Needs root (apt-get, daemons). Everything it writes is under $QUALFLOW_SLURM_ROOT
# (default /tmp/qualflow-slurm); the system-wide pieces are the Debian packages, munge (its
# standard key and socket, /etc/munge and /run/munge) and /etc/slurm/slurm.conf, a symbolic link
# to the generated configuration while the cluster runs: the SLURM executor plugin's job step
# removes SLURM_CONF from the environment of the `srun` it starts inside each job, so `srun`
# must find the configuration at its default place. The script refuses to start when
# /etc/slurm/slurm.conf is there and not its own.
#
# Accounting ($QUALFLOW_SLURM_ACCOUNTING):
#   slurmdbd (default)  slurmdbd with a private MariaDB: `sacct` works, which is what
#                       snakemake-executor-plugin-slurm queries job states with by default.
#   none                no database: `sacct` then only says "Slurm accounting storage is disabled",
#                       so the plugin must be told --slurm-status-command squeue; finished jobs stay
#                       visible to squeue for MinJobAge (1 h here) and are written to
#                       log/jobcomp.txt (read it with `sacct --completion`).
set -euo pipefail

ROOT=${QUALFLOW_SLURM_ROOT:-/tmp/qualflow-slurm}
ACCOUNTING=${QUALFLOW_SLURM_ACCOUNTING:-slurmdbd}
PARTITION=${QUALFLOW_SLURM_PARTITION:-main}
ACCOUNT=${QUALFLOW_SLURM_ACCOUNT:-qualflow}
CLUSTER=qualflow
CTLD_PORT=6817
SLURMD_PORT=6818
DBD_PORT=6819
DB_PORT=${QUALFLOW_SLURM_DB_PORT:-3307}
WAIT_SECONDS=${QUALFLOW_SLURM_WAIT:-90}

ETC=$ROOT/etc
SYSTEM_CONF=/etc/slurm/slurm.conf
RUN=$ROOT/run
LOG=$ROOT/log
DB=$ROOT/db
export SLURM_CONF=$ETC/slurm.conf
export PATH=$PATH:/usr/sbin:/sbin

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

case "$ACCOUNTING" in
  slurmdbd | none) ;;
  *) die "QUALFLOW_SLURM_ACCOUNTING must be slurmdbd or none, not '$ACCOUNTING'" ;;
esac

running() {  # running PIDFILE: the process named in the pid file is alive
  [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pid() {  # stop_pid NAME PIDFILE: SIGTERM, then wait up to 20 s, then SIGKILL
  local name=$1 pidfile=$2 pid
  running "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 40); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped $name"; return 0; }
    sleep 0.5
  done
  log "$name (pid $pid) did not stop in 20 s: killing it"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 2))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "timed out after ${seconds} s waiting for $what (logs in $LOG)"
}

install_packages() {
  local packages=(slurm-wlm munge) commands=(slurmctld slurmd sbatch munged)
  if [[ $ACCOUNTING == slurmdbd ]]; then
    packages+=(slurmdbd slurm-wlm-mysql-plugin mariadb-server)
    commands+=(slurmdbd mariadbd)
  fi
  local missing=0
  for command in "${commands[@]}"; do
    command -v "$command" >/dev/null || missing=1
  done
  if [[ $ACCOUNTING == slurmdbd ]]; then
    compgen -G "/usr/lib/*/slurm-wlm/accounting_storage_mysql.so" >/dev/null || missing=1
  fi
  ((missing)) || return 0
  command -v apt-get >/dev/null || die "SLURM is not installed and there is no apt-get: install ${packages[*]}"
  log "installing ${packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  # Packages' maintainer scripts must not start the daemons: this script starts its own.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >"$ROOT/apt-get.log" 2>&1 ||
    { ((created_policy)) && rm -f "$policy"; tail -20 "$ROOT/apt-get.log" >&2; die "apt-get install failed"; }
  ((created_policy)) && rm -f "$policy"
  return 0
}

start_munge() {
  # Reuse a munged that already works (a real installation, or this script's earlier run).
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0
  fi
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating the munge key /etc/munge/munge.key"
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 0700 /etc/munge
  chmod 0600 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  runuser -u munge -- /usr/sbin/munged
  touch "$RUN/munged.ours"
  wait_for 20 munged sh -c 'munge -n | unmunge'
  log "started munged"
}

write_slurm_conf() {
  local node_line host
  host=$(hostname -s)
  # The node as slurmd sees it: real CPUs, sockets, cores and memory (a mismatch drains it).
  node_line=$(slurmd -C | head -1)
  [[ $node_line == NodeName=* ]] || die "slurmd -C did not describe this node: $node_line"
  {
    echo "# Written by tests/slurm/cluster.sh: a one-node cluster on localhost for tests."
    echo "ClusterName=$CLUSTER"
    echo "SlurmctldHost=$host(127.0.0.1)"
    echo "SlurmctldPort=$CTLD_PORT"
    echo "SlurmdPort=$SLURMD_PORT"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "StateSaveLocation=$ROOT/state/slurmctld"
    echo "SlurmdSpoolDir=$ROOT/state/slurmd"
    echo "SlurmctldPidFile=$RUN/slurmctld.pid"
    echo "SlurmdPidFile=$RUN/slurmd.pid"
    echo "SlurmctldLogFile=$LOG/slurmctld.log"
    echo "SlurmdLogFile=$LOG/slurmd.log"
    echo "MpiDefault=none"
    echo "MailProg=/bin/true"
    # No cgroups (containers seldom delegate them): processes are tracked by parent PID, and
    # each job is pinned to the CPUs it was given, so `--cores all` inside a job sees only those.
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/affinity"
    # CPUs and memory are both consumed by jobs, as on a real cluster: a job asking for more
    # memory than the node has is refused, and jobs share the node by their requests.
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core_Memory"
    echo "DefMemPerCPU=1000"
    # A job that goes over its --mem is killed (sampled every 2 s), as cgroups would on a
    # cluster: the memory the workflow profile asks for is really tested.
    echo "JobAcctGatherType=jobacct_gather/linux"
    echo "JobAcctGatherFrequency=task=2"
    echo "JobAcctGatherParams=OverMemoryKill"
    echo "SchedulerType=sched/backfill"
    echo "ReturnToService=2"
    echo "SlurmdTimeout=60"
    echo "InactiveLimit=0"
    echo "KillWait=10"
    if [[ $ACCOUNTING == slurmdbd ]]; then
      echo "AccountingStorageType=accounting_storage/slurmdbd"
      echo "AccountingStorageHost=localhost"
      echo "AccountingStoragePort=$DBD_PORT"
      # Jobs need a valid account, as on most clusters (root's own account is valid).
      echo "AccountingStorageEnforce=associations"
      # Keep the plugin's --comment (rule and wildcards of each job) for sacct.
      echo "AccountingStoreFlags=job_comment"
      echo "MinJobAge=300"
    else
      echo "AccountingStorageType=accounting_storage/none"
      echo "JobCompType=jobcomp/filetxt"
      echo "JobCompLoc=$LOG/jobcomp.txt"
      # squeue is the plugin's only source of job states here: keep finished jobs for 1 h.
      echo "MinJobAge=3600"
    fi
    echo "$node_line NodeAddr=127.0.0.1 State=UNKNOWN"
    echo "PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } >"$ETC/slurm.conf.new"
  mv "$ETC/slurm.conf.new" "$ETC/slurm.conf"
  mkdir -p "$(dirname "$SYSTEM_CONF")"
  ln -sfn "$ETC/slurm.conf" "$SYSTEM_CONF"
  # Debian's slurm packages read this (empty is fine) and complain when it is missing.
  [[ -e $ETC/plugstack.conf ]] || : >"$ETC/plugstack.conf"
}

start_database() {
  [[ $ACCOUNTING == slurmdbd ]] || return 0
  local socket=$DB/mysqld.sock
  if ! running "$RUN/mariadbd.pid"; then
    if [[ ! -d $DB/data/mysql ]]; then
      mkdir -p "$DB"
      mariadb-install-db --no-defaults --user=root --datadir="$DB/data" \
        --auth-root-authentication-method=socket --skip-test-db >"$LOG/mariadb-install.log" 2>&1 ||
        die "mariadb-install-db failed: see $LOG/mariadb-install.log"
    fi
    mariadbd --no-defaults --user=root --datadir="$DB/data" --socket="$socket" \
      --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file="$RUN/mariadbd.pid" \
      --log-error="$LOG/mariadb.log" --innodb-buffer-pool-size=64M >/dev/null 2>&1 &
    wait_for 60 MariaDB mariadb-admin --no-defaults --socket="$socket" -uroot ping
    log "started MariaDB on 127.0.0.1:$DB_PORT"
  fi
  if [[ ! -s $ETC/dbpass ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$ETC/dbpass")
  fi
  local pass
  pass=$(cat "$ETC/dbpass")
  mariadb --no-defaults --socket="$socket" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
SQL
  (
    umask 077
    cat >"$ETC/slurmdbd.conf" <<EOF
# Written by tests/slurm/cluster.sh.
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
EOF
  )
  if ! running "$RUN/slurmdbd.pid"; then
    slurmdbd  # finds slurmdbd.conf next to $SLURM_CONF
    wait_for 60 slurmdbd sacctmgr -n list cluster
    log "started slurmdbd"
  fi
  # The cluster, and an account for the test user, as an administrator would set them up.
  local user
  user=$(id -un)
  sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER" ||
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
  sacctmgr -n list account format=account | grep -qw "$ACCOUNT" ||
    sacctmgr -i add account "$ACCOUNT" Description="qualflow tests" Organization=qualflow >/dev/null
  sacctmgr -n list association user="$user" account="$ACCOUNT" format=user | grep -qw "$user" ||
    sacctmgr -i add user "$user" Account="$ACCOUNT" >/dev/null
}

node_state() {
  sinfo -h -p "$PARTITION" -o %T 2>/dev/null | head -1
}

node_ready() {
  [[ $(node_state) == idle || $(node_state) == mixed || $(node_state) == allocated ]]
}

start() {
  [[ $(id -u) == 0 ]] || die "needs root (apt-get, munged, slurmctld, slurmd)"
  mkdir -p "$ETC" "$RUN" "$LOG" "$ROOT/state/slurmctld" "$ROOT/state/slurmd"
  install_packages
  if running "$RUN/slurmctld.pid" && running "$RUN/slurmd.pid" && node_ready; then
    log "already running ($(node_state)); SLURM_CONF=$SLURM_CONF"
    return 0
  fi
  # A SLURM that this script did not set up would fight over the ports and the configuration.
  if pgrep -x slurmctld >/dev/null && ! running "$RUN/slurmctld.pid"; then
    die "another slurmctld is running on this machine: stop it first"
  fi
  if [[ -e $SYSTEM_CONF || -L $SYSTEM_CONF ]] && [[ $(readlink "$SYSTEM_CONF") != "$ETC/slurm.conf" ]]; then
    die "$SYSTEM_CONF exists and is not this script's: this machine has its own SLURM setup"
  fi
  start_munge
  write_slurm_conf
  start_database
  running "$RUN/slurmctld.pid" || slurmctld
  wait_for 30 slurmctld scontrol ping
  running "$RUN/slurmd.pid" || slurmd
  wait_for "$WAIT_SECONDS" "the node to be idle" node_ready
  # A node that was down at the last stop stays down until it is told otherwise.
  log "cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %T')"
  log "SLURM_CONF=$SLURM_CONF"
}

stop() {
  if [[ -s $SLURM_CONF ]] && running "$RUN/slurmctld.pid"; then
    # Stops slurmctld and every slurmd (jobs still running are killed).
    scontrol shutdown >/dev/null 2>&1 || true
    for _ in $(seq 40); do
      running "$RUN/slurmctld.pid" || running "$RUN/slurmd.pid" || break
      sleep 0.5
    done
    log "stopped slurmctld and slurmd (scontrol shutdown)"
  fi
  stop_pid slurmd "$RUN/slurmd.pid"
  stop_pid slurmctld "$RUN/slurmctld.pid"
  stop_pid slurmdbd "$RUN/slurmdbd.pid"
  stop_pid MariaDB "$RUN/mariadbd.pid"
  if [[ -L $SYSTEM_CONF && $(readlink "$SYSTEM_CONF") == "$ETC/slurm.conf" ]]; then
    rm -f "$SYSTEM_CONF"
  fi
  if [[ -e $RUN/munged.ours ]]; then
    munged --stop >/dev/null 2>&1 || true
    rm -f "$RUN/munged.ours"
    log "stopped munged"
  fi
}

status() {
  local code=0
  for daemon in munged:"" mariadbd:"$RUN/mariadbd.pid" slurmdbd:"$RUN/slurmdbd.pid" \
    slurmctld:"$RUN/slurmctld.pid" slurmd:"$RUN/slurmd.pid"; do
    local name=${daemon%%:*} pidfile=${daemon#*:}
    if [[ $name == munged ]]; then
      if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then echo "munged    up"; else echo "munged    down"; code=1; fi
    elif [[ $ACCOUNTING == none && ($name == mariadbd || $name == slurmdbd) ]]; then
      continue
    elif running "$pidfile"; then
      echo "$(printf '%-9s' "$name") up (pid $(cat "$pidfile"))"
    else
      echo "$(printf '%-9s' "$name") down"
      code=1
    fi
  done
  if ((code == 0)) && node_ready; then
    sinfo
  else
    code=1
  fi
  return $code
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  clean)
    stop
    rm -rf "$ROOT"
    ;;
  *)
    echo "usage: $0 start|stop|status|env|clean" >&2
    exit 2
    ;;
esac
