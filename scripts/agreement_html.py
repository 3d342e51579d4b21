"""results/agreement/report.html: the agreement figures as a page coders can read and act on.

One self-contained file (inline CSS and SVG, no script, no external resource), deterministic (no
timestamp), every text HTML-escaped. Sections: summary and quality gate, what each coder coded,
problems found in the codings, a table per code sorted by worst agreement with the confidence
interval drawn, the coder pairs, and every disagreement with its de-identified text, grouped by
code for a reconciliation meeting.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any, Sequence

from scripts.agreement_comparisons import ALL_CODERS, Settings, Tables
from scripts.agreement_quality_gate import low_alpha
from scripts.codebook import Codebook
from scripts.codings import CheckedCodings

CSS = """
:root { --ink: #1d2430; --muted: #5b6675; --line: #d9dee5; --bad: #b3261e; --warn: #8a5a00; --ok: #1e6b3a; --bar: #4a78b5; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1000px; padding: 16px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.25em; margin: 32px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
p.meta, .note { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f5f8; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
td.small, span.small { font-size: 0.85em; color: var(--muted); }
td.flags { width: 9.5em; }
.fits { max-width: 100%; overflow-x: auto; }
.badge { display: inline-block; border-radius: 3px; padding: 0 6px; margin: 1px 0; font-size: 0.85em; font-weight: 600; white-space: nowrap; text-decoration: none; }
.badge.bad { background: #fbe4e2; color: var(--bad); } .badge.warn { background: #fdf0d5; color: var(--warn); }
.badge.ok { background: #e0f2e6; color: var(--ok); }
details { border: 1px solid var(--line); border-radius: 4px; margin: 8px 0; padding: 4px 10px; }
summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.92em; }
svg.ci { display: block; margin-top: 3px; }
dl.flags dt { margin-top: 10px; } dl.flags dd { margin: 2px 0 0 0; }
.context { color: var(--muted); font-size: 0.9em; } .coded { font-weight: 600; margin: 2px 0; }
@media print { details { break-inside: avoid; } th { position: static; } }
"""

BAR_WIDTH = 130
BAR_HEIGHT = 18


def _number(value: Any, digits: int = 3) -> str:
    if value is None or value == "":
        return "&ndash;"
    return f"{float(value):.{digits}f}"


def _percent(value: Any) -> str:
    if value is None or value == "":
        return "&ndash;"
    return f"{100 * float(value):.1f}%"


def ci_bar(
    alpha: float | None, low: float | None, high: float | None, minimum: float | None
) -> str:
    """Inline SVG: the interval as a bar on a 0-1 scale, alpha as a dot, the minimum as a line."""

    def x(value: float) -> float:
        return round(4 + (BAR_WIDTH - 8) * min(1.0, max(0.0, value)), 1)

    if alpha is None:
        label = "alpha undefined"
    elif low is None:
        label = f"alpha {alpha:.3f}, no confidence interval"
    else:
        label = f"alpha {alpha:.3f}, 95% CI {low:.3f} to {high:.3f}"
    parts = [
        f'<svg class="ci" role="img" aria-label="{escape(label)}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
        f'viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{x(0)}" y1="9" x2="{x(1)}" y2="9" stroke="#d9dee5" stroke-width="2"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{x(tick)}" y1="5" x2="{x(tick)}" y2="13" stroke="#b8c0cc" stroke-width="1"/>'
        )
    if minimum is not None:
        parts.append(
            f'<line x1="{x(minimum)}" y1="1" x2="{x(minimum)}" y2="17" stroke="#b3261e" stroke-width="1.5" stroke-dasharray="2 2"/>'
        )
    if low is not None and high is not None:
        parts.append(
            f'<rect x="{x(low)}" y="5" width="{max(1.0, round(x(high) - x(low), 1))}" height="8" rx="2" fill="#4a78b5" fill-opacity="0.45"/>'
        )
    if alpha is not None:
        colour = "#b3261e" if minimum is not None and alpha < minimum else "#1d2430"
        parts.append(f'<circle cx="{x(alpha)}" cy="9" r="4" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _status(row: dict, minimum: float | None) -> str:
    """The flags of a row, each a link to its plain-language explanation (#flags)."""
    badges = []
    if row.get("prevalence_paradox") == "yes":
        badges.append(
            '<a class="badge warn" href="#flag-paradox" title="kappa and Gwet&#x27;s AC1 differ strongly: with a rare (or very '
            'common) code, kappa is low even when coders mostly agree. What to report: see What the flags mean.">paradox</a>'
        )
    alpha = _float(row.get("krippendorff_alpha"))
    if alpha is None:
        badges.append(
            '<a class="badge warn" href="#flag-undefined" title="no variation: nobody, or everybody, applied this code">alpha undefined</a>'
        )
    elif minimum is not None:
        if alpha < minimum:
            badges.append(
                f'<a class="badge bad" href="#flag-below" title="Krippendorff&#x27;s alpha below the minimum set in config.yaml">below {minimum:g}</a>'
            )
        else:
            badges.append('<a class="badge ok" href="#flag-ok">ok</a>')
    return " ".join(badges)


def _sort_worst_first(rows: Sequence[dict]) -> list[dict]:
    def key(row: dict) -> tuple:
        alpha = _float(row.get("krippendorff_alpha"))
        return (alpha is None, alpha if alpha is not None else 0.0, row["code_id"])

    return sorted(rows, key=key)


def render(
    tables: Tables,
    checked: CheckedCodings,
    codebook: Codebook,
    settings: Settings,
    coding: dict,
    followed: Sequence[dict] = (),
) -> str:
    """The whole page. ``followed``: the anchoring ledger's rows of these coders (codings followed
    to the text as it is now, and those waiting for a person)."""
    minimum, per_code = settings.minimum_alpha, settings.minimum_alpha_per_code
    coders = ", ".join(checked.coders)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Inter-coder agreement</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Inter-coder agreement</h1>",
        f'<p class="meta">Codebook version <b>{escape(codebook.version)}</b> ({len(codebook.codes)} codes) &middot; '
        f"coders: <b>{escape(coders)}</b> &middot; unit: <b>{escape(settings.unit)}</b> x code, presence per coder &middot; "
        f"roles coded: {escape(', '.join(coding.get('roles', [])))} &middot; {int(settings.confidence * 100)}% "
        f"bootstrap intervals ({settings.iterations} replicates, seed {settings.seed})</p>",
    ]
    out += _summary(tables, settings, minimum, per_code)
    out += _flags_explained(settings, minimum, per_code)
    out += _coverage(tables, checked)
    out += _problems(checked)
    out += _followed(followed)
    out += _by_code(tables, settings, per_code)
    out += _pairs(tables, checked)
    out += _disagreements(tables, codebook, settings)
    out.append(
        '<p class="note">Made by qualflow (rule <code>agreement</code>). Figures: results/agreement/summary.tsv, '
        "by_code.tsv, by_pair.tsv; disagreements: disagreements.tsv; problems found in the codings: coding_problems.tsv.</p>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _summary(
    tables: Tables, settings: Settings, minimum: float | None, per_code: float | None
) -> list[str]:
    out = ['<h2 id="summary">Summary: all codes pooled</h2>']
    low = low_alpha(tables.summary, tables.by_code, minimum, per_code)
    if minimum is None and per_code is None:
        out.append(
            '<p class="note">No minimum alpha is set (agreement.minimum_alpha in config.yaml).</p>'
        )
    elif low:
        names = ", ".join(f"<code>{escape(scope)}</code> ({alpha:.3f})" for scope, alpha in low)
        action = (
            "fails the workflow" if settings.on_low_alpha == "fail" else "is reported as a warning"
        )
        out.append(
            f'<p><span class="badge bad">quality gate</span> Krippendorff&#x27;s alpha is below the minimum '
            f"({_number(minimum)} pooled, {_number(per_code)} per code) for: {names}. This {action} "
            f"(agreement.on_low_alpha: {escape(settings.on_low_alpha)}).</p>"
        )
    else:
        out.append(
            f'<p><span class="badge ok">quality gate</span> Alpha reaches the minimum ({_number(minimum)} pooled, {_number(per_code)} per code).</p>'
        )
    out.append(
        '<div class="fits"><table id="summary-table"><thead><tr><th>Coders</th><th class="num">Transcripts<br>segments</th>'
        '<th class="num">Units<br>prevalence</th><th class="num">Agreement</th><th>Alpha [95% CI]</th>'
        '<th class="num">Kappa</th><th class="num">AC1</th><th>Flags</th></tr></thead><tbody>'
    )
    for row in tables.summary:
        left_out = (
            f'<br><span class="small">{row["n_segments_left_out"]} left out</span>'
            if row["n_segments_left_out"]
            else ""
        )
        out.append(
            f'<tr><td>{escape(row["comparison"])}</td><td class="num">{row["n_transcripts"]}<br>{row["n_segments"]}{left_out}</td>'
            f'<td class="num">{row["n_units"]}<br>{_percent(row["prevalence"])}</td><td class="num">{_percent(row["percent_agreement"])}</td>'
            f"<td>{_alpha_cell(row, minimum)}</td>"
            f'<td class="num">{_number(row["kappa"])}</td><td class="num">{_number(row["gwet_ac1"])}</td><td class="flags">{_status(row, minimum)}</td></tr>'
        )
    out.append("</tbody></table></div>")
    first = tables.summary[0]
    if first["n_segments_left_out"]:
        out.append(
            f'<p class="note">{first["n_segments_left_out"]} segment(s) were left out of the all-coder comparison because not every '
            "coder coded their transcript (see below); pairs of coders who did code them are compared on them.</p>"
        )
    out.append(
        '<p class="note">A unit is a (unit, code) pair; a coder either applied the code or not. Kappa is Cohen&#x27;s for two coders, '
        "Fleiss&#x27; for more. Prevalence: share of ratings where the code is present. Bar: 0 to 1 scale, dot = alpha, "
        "blue = 95% bootstrap interval, dashed red line = minimum alpha.</p>"
    )
    return out


def _coverage(tables: Tables, checked: CheckedCodings) -> list[str]:
    out = [
        '<h2 id="coverage">What each coder coded</h2>',
        '<table id="coverage-table"><thead><tr><th>Coder</th><th class="num">Transcripts</th><th class="num">Segments</th>'
        '<th class="num">Codes applied</th><th>Coded transcripts this coder did not code</th></tr></thead><tbody>',
    ]
    for row in tables.coverage:
        name = escape(row["coder"]) + (
            " (consensus, not compared)" if row["coder"] == checked.consensus else ""
        )
        out.append(
            f'<tr><td>{name}</td><td class="num">{row["transcripts_coded"]}</td><td class="num">{row["segments_coded"]}</td>'
            f'<td class="num">{row["codes_applied"]}</td><td>{escape(row["transcripts_not_coded"].replace(",", ", ")) or "&ndash;"}</td></tr>'
        )
    out.append("</tbody></table>")
    return out


def _problems(checked: CheckedCodings) -> list[str]:
    warnings = checked.warnings
    out = ['<h2 id="problems">Problems found in the codings</h2>']
    if not warnings:
        out.append('<p class="note">None.</p>')
        return out
    out.append(
        '<table id="problems-table"><thead><tr><th>Kind</th><th>Where</th><th>What</th></tr></thead><tbody>'
    )
    for problem in warnings:
        where = problem.file + (f", row {problem.row}" if problem.row is not None else "")
        out.append(
            f"<tr><td>{escape(problem.kind)}</td><td><code>{escape(where)}</code></td><td>{escape(problem.detail)}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def _followed(ledger: Sequence[dict]) -> list[str]:
    """Codings that followed their text (counts), codes renamed or merged (counts), and every
    coding a person must re-check, with the coded text beside the text now."""
    out = ['<h2 id="followed">Codings that followed the text</h2>']
    statuses = Counter(
        row["status"] for row in ledger if row["status"] not in ("unchanged", "no_column")
    )
    changes = Counter(
        (row["code_id"], row["current_code_id"], row["code_change"])
        for row in ledger
        if row["code_change"]
    )
    if not statuses and not changes:
        out.append(
            '<p class="note">Every coding is on the segment it was made on (the transcripts have not changed under them).</p>'
        )
        return out
    words = {
        "carried": "carried (same words; a placeholder or spacing changed)",
        "moved": "moved to another segment ID or a small edit",
        "split": "split (the sentence is now several segments: coded on each)",
        "merged": "merged (the sentence is now part of a longer one)",
        "recheck": "need a person to re-check them (left out of the figures)",
    }
    items = [
        f"{count} {escape(words[status])}"
        for status, count in sorted(statuses.items(), key=lambda item: list(words).index(item[0]))
    ]
    out.append(
        f"<p>{'; '.join(items)}. Every one is listed in <code>results/coding/anchoring.tsv</code>.</p>"
        if items
        else ""
    )
    for (old, new, kind), count in sorted(changes.items()):
        target = f"<code>{escape(new)}</code>" if new else "a code a person chooses"
        out.append(
            f'<p class="note">Code <code>{escape(old)}</code> ({escape(kind)}): {count} coding(s) counted as {target}.</p>'
        )
    rechecks = [row for row in ledger if row["status"] == "recheck"]
    if rechecks:
        out.append(
            '<table id="recheck-table"><thead><tr><th>Coder</th><th>Where</th><th>Code</th><th>Coded text</th><th>Text now</th></tr></thead><tbody>'
        )
        for row in rechecks:
            where = f"{row['file']}, row {row['row']}" + (
                f" (column {row['column']})" if row["column"] else ""
            )
            out.append(
                f'<tr><td>{escape(row["coder"])}</td><td><code>{escape(where)}</code><br><span class="small">{escape(row["segment_id"])}</span></td>'
                f'<td><code>{escape(row["code_id"])}</code></td><td class="text">{escape(row["coded_text"])}</td>'
                f'<td class="text">{escape(row["current_text"]) or "&ndash;"}</td></tr>'
            )
        out.append("</tbody></table>")
    return out


def _by_code(tables: Tables, settings: Settings, per_code: float | None) -> list[str]:
    out = [
        f'<h2 id="codes">Agreement per code ({escape(ALL_CODERS)}), worst first</h2>',
        '<div class="fits"><table id="by-code"><thead><tr><th>Code (theme)</th><th class="num">Units with code<br>prevalence</th>'
        '<th>Applied (units)</th><th class="num">Agreement</th><th>Alpha [95% CI]</th><th class="num">Kappa</th>'
        '<th class="num">AC1</th><th>Flags</th></tr></thead><tbody>',
    ]
    for row in _sort_worst_first(tables.by_code):
        out.append(
            f'<tr class="code-row" id="code-{escape(row["code_id"])}"><td><b>{escape(row["code_label"])}</b><br><code>{escape(row["code_id"])}</code> '
            f'<span class="small">({escape(row["theme_id"])})</span></td><td class="num">{row["n_present"]} / {row["n_units"]}<br>{_percent(row["prevalence"])}</td>'
            f'<td class="small">{escape(row["applied"]).replace(" ", "<br>")}</td>'
            f'<td class="num">{_percent(row["percent_agreement"])}</td>'
            f"<td>{_alpha_cell(row, per_code)}</td>"
            f'<td class="num">{_number(row["kappa"])}</td><td class="num">{_number(row["gwet_ac1"])}</td>'
            f'<td class="flags">{_status(row, per_code)}<br><a href="#disagree-{escape(row["code_id"])}">disagreements</a></td></tr>'
        )
    out.append("</tbody></table></div>")
    return out


def _alpha_cell(row: dict, minimum: float | None) -> str:
    """Alpha and its interval as figures, the interval drawn below them."""
    return (
        f"{_number(row['krippendorff_alpha'])} [{_number(row['krippendorff_alpha_low'])}, {_number(row['krippendorff_alpha_high'])}]"
        + ci_bar(
            row["krippendorff_alpha"],
            row["krippendorff_alpha_low"],
            row["krippendorff_alpha_high"],
            minimum,
        )
    )


def _flags_explained(
    settings: Settings, minimum: float | None, per_code: float | None
) -> list[str]:
    """What each flag means and what to do about it, in plain words; the prevalence paradox first."""
    threshold = (
        "the minimum set in config.yaml (agreement.minimum_alpha)"
        if minimum is None
        else (
            f"{minimum:g}"
            + ("" if per_code in (None, minimum) else f" pooled, {per_code:g} per code")
        )
    )
    return [
        '<h2 id="flags">What the flags mean</h2>',
        '<dl class="flags">',
        f'<dt id="flag-paradox"><span class="badge warn">paradox</span> kappa and AC1 disagree (they differ by {settings.paradox_gap:g} or more)</dt>',
        "<dd>This is the <b>prevalence paradox</b>. When a code is rare (or applied almost everywhere), coders agree on most "
        "units simply because they all leave it off. Kappa-type coefficients (Cohen&#x27;s and Fleiss&#x27; kappa, Scott&#x27;s pi, "
        "Krippendorff&#x27;s alpha) expect that much agreement by chance and give credit only for the rest, so they can be low "
        "while the coders agree on nearly every unit; Gwet&#x27;s AC1 expects less chance agreement and stays high. Neither is "
        "wrong: they weigh the few units where someone applied the code differently. <b>What to report:</b> Krippendorff&#x27;s "
        "alpha with its confidence interval, as planned, together with the code&#x27;s prevalence, percent agreement and AC1, "
        "and say that the code is rare; do not switch to AC1 because it is higher. <b>What to do:</b> read this code&#x27;s "
        "disagreements: with so few units carrying the code, a handful of them decides the figure, and a sharper definition "
        "or a reconciliation settles them.</dd>",
        f'<dt id="flag-below"><span class="badge bad">below {threshold}</span> Krippendorff&#x27;s alpha is below the minimum</dt>',
        "<dd>The coders do not yet apply this code reliably enough to draw conclusions from it (0.667 is Krippendorff&#x27;s lowest "
        "value for tentative conclusions, 0.8 for firm ones). Discuss its disagreements, clarify the definition and its include "
        "and exclude criteria, then code again. The quality gate (agreement.on_low_alpha) warns or stops the workflow.</dd>",
        '<dt id="flag-undefined"><span class="badge warn">alpha undefined</span> nothing to measure</dt>',
        "<dd>Nobody (or everybody) applied the code in the units compared, so there is no variation to measure agreement on. "
        "Not a failure: the code cannot be assessed until it is used.</dd>",
        '<dt id="flag-ok"><span class="badge ok">ok</span> alpha reaches the minimum</dt>',
        "<dd>Agreement is acceptable for this code; its disagreements are still listed below for the reconciliation.</dd>",
        '<dt><a href="#disagreements">disagreements</a></dt>',
        "<dd>Jumps to the units where the coders did not all decide the same, each with the segment before and after it.</dd>",
        "</dl>",
    ]


def _pairs(tables: Tables, checked: CheckedCodings) -> list[str]:
    pairs = sorted({(row["coder_a"], row["coder_b"]) for row in tables.by_pair})
    if len(checked.coders) < 3:
        return []
    alpha = {
        (row["coder_a"], row["coder_b"], row["code_id"]): row["krippendorff_alpha"]
        for row in tables.by_pair
    }
    out = [
        '<h2 id="pairs">Alpha per code and coder pair</h2>',
        '<table id="pairs-table"><thead><tr><th>Code</th>'
        + "".join(f'<th class="num">{escape(a)} &amp; {escape(b)}</th>' for a, b in pairs)
        + "</tr></thead><tbody>",
    ]
    pooled = {tuple(row["coders"].split(",")): row for row in tables.summary[1:]}
    out.append(
        "<tr><td><b>all codes pooled</b></td>"
        + "".join(
            f'<td class="num"><b>{_number(pooled.get((a, b), {}).get("krippendorff_alpha"))}</b></td>'
            for a, b in pairs
        )
        + "</tr>"
    )
    for row in _sort_worst_first(tables.by_code):
        out.append(
            f"<tr><td><code>{escape(row['code_id'])}</code></td>"
            + "".join(
                f'<td class="num">{_number(alpha.get((a, b, row["code_id"])))}</td>'
                for a, b in pairs
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return out


def _disagreements(tables: Tables, codebook: Codebook, settings: Settings) -> list[str]:
    out = [
        '<h2 id="disagreements">Disagreements to reconcile</h2>',
        '<p class="note">Each unit where the coders who coded the transcript did not all decide the same, with every segment '
        "where the code was applied and the segments before and after it (de-identified), codes in the order of the table "
        "above (those below the minimum alpha are open). "
        "&ldquo;Consensus&rdquo;: what the reconciled coding says (&ndash;: not reconciled yet).</p>",
    ]
    by_code: dict[str, list[dict]] = {}
    for row in tables.disagreements:
        by_code.setdefault(row["code_id"], []).append(row)
    for row in _sort_worst_first(tables.by_code):
        code_id = row["code_id"]
        items = by_code.get(code_id, [])
        code = codebook.code(code_id)
        units = len({item["unit_id"] for item in items})
        alpha, minimum = _float(row.get("krippendorff_alpha")), settings.minimum_alpha_per_code
        opened = (
            " open"
            if items and alpha is not None and minimum is not None and alpha < minimum
            else ""
        )  # the codes to discuss first
        out.append(
            f'<details id="disagree-{escape(code_id)}"{opened}><summary>{escape(code.label)} <code>{escape(code_id)}</code>: '
            f"{units} disagreement(s)</summary>"
        )
        out.append(f'<p class="note">{escape(code.definition)}</p>')
        if items:
            out.append(
                '<table class="disagreements"><thead><tr><th>Segment</th><th>Text in its context (de-identified)</th><th>Applied by</th>'
                "<th>Not applied by</th><th>Consensus</th></tr></thead><tbody>"
            )
            for item in items:
                before = (
                    f'<div class="context">{escape(item["context_before"])}</div>'
                    if item["context_before"]
                    else ""
                )
                after = (
                    f'<div class="context">{escape(item["context_after"])}</div>'
                    if item["context_after"]
                    else ""
                )
                out.append(
                    f'<tr><td><code>{escape(item["segment_id"])}</code></td><td class="text">{before}'
                    f'<div class="coded">{escape(item["text"])}</div>{after}</td>'
                    f"<td>{escape(item['applied_by'].replace(',', ', '))}</td><td>{escape(item['not_applied_by'].replace(',', ', '))}</td>"
                    f"<td>{escape(item['consensus']) or '&ndash;'}</td></tr>"
                )
            out.append("</tbody></table>")
        out.append("</details>")
    return out
