"""Word lists the de-identification layers consult (scripts/recognisers.py, scripts/named_entities.py).

Written by hand: no library lists the nouns that name a role, an office or a document rather than
a person ("the Judge", "the Board of Health", "Discharge Summary"). Every list is lower case.
"""

from __future__ import annotations

#: Head nouns of a capitalised phrase that names a role, a rank or a kind of person, not a person:
#: "the Magistrate", "Case Manager", "Principal Investigator", "Dear Sir or Madam".
ROLE_NOUNS = frozenset(
    """
    judge judges magistrate magistrates justice justices commissioner commissioners sergeant sergeants
    officer officers inspector constable detective detectives chief deputy captain lieutenant
    director directors manager managers worker workers attorney attorneys lawyer lawyers counsel
    investigator investigators coordinator coordinators supervisor supervisors administrator clerk
    secretary minister ministers president chairman chairperson chair registrar consultant
    physician physicians clinician clinicians pharmacist counsellor counselor counsellors
    counselors therapist psychiatrist psychologist navigator navigators advocate advocates
    client clients patient patients user users resident residents tenant tenants landlord
    defendant defendants plaintiff claimant applicant respondent appellant prosecutor prosecutors
    sir madam senior junior principal staff team member members head assistant trustee trustees
    guardian parent parents caseworker caseworkers caregiver caregivers volunteer volunteers
    man woman men women guy guys lady ladies boy girl dude bro folks people
    councillor councillors councilor leader leaders commander commanders corporal colonel
    superintendent warden matron teacher teachers headteacher headmaster imam priest bishop elder
    elders mayor governor senator
""".split()
)

#: Head nouns of a capitalised phrase that names a public office, a court, a service or a
#: benefit, not an organisation that would identify a study site: "the Family Court",
#: "Department of Social Services", "Housing Benefit", "the Police".
INSTITUTION_NOUNS = frozenset(
    """
    court courts tribunal police department ministry office council authority administration
    board agency commission government parliament assembly committee bureau
    benefit benefits credit insurance allowance pension security welfare probation parole grant
    grants payment payments treasury
""".split()
)

#: Head nouns of a capitalised phrase that names a document or a part of one, written as a
#: heading: "Referral Letter", "Discharge Summary", "Grant Report", "Subject: Referral".
DOCUMENT_NOUNS = frozenset(
    """
    summary summaries report reports letter letters note notes assessment assessments plan plans
    referral referrals form record records section appendix memo memorandum statement order
    application claim notice certificate terminology agreement review update log minutes agenda
    discharge intake progress ref reg subject re
""".split()
)

#: Words that count a stage or a place in a sequence: "Form Three", "Standard Five", "Year 2",
#: "week 12" (a school year or a study week identifies no one).
SEQUENCE_NOUNS = frozenset(
    "form standard grade year class level stage phase week day visit session section".split()
)

NUMBER_WORDS = frozenset(
    """
    one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty first second third fourth fifth sixth seventh
    eighth ninth tenth
""".split()
)

#: Things said in speech that the small model takes for names ("Nah", "Man", "Mm").
INTERJECTIONS = frozenset(
    "nah yeah yep yup nope mm mmm mhm uh uhh um umm erm hmm huh ok okay yo wow oh ah aah eh eeh ehh aw ahh ooh".split()
)

#: Vehicle makes: a model's name after them is not a person ("a grey Toyota Noah").
VEHICLE_MAKES = frozenset(
    """
    toyota honda nissan mazda subaru mitsubishi suzuki isuzu hyundai kia ford chevy chevrolet
    dodge jeep chrysler buick cadillac gmc lexus acura infiniti bmw mercedes audi volkswagen vw
    volvo peugeot renault fiat tesla bajaj tvs yamaha
""".split()
)

#: US state abbreviations: written after a city they identify no one on their own.
US_STATES = frozenset(
    """
    AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR
""".split()
)

#: Words that join the parts of a name of an office ("Board of Health", "Patient, Client and
#: Service User"); not counted when a phrase is tested word by word.
JOINING_WORDS = frozenset("of and & for the on in at to , - '".split())
