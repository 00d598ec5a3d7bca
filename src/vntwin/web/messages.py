"""Words the pages show that come from elsewhere, marked for translation.

``N_`` only marks a string for the catalogue extractor (``pybabel extract -k N_``); the
pages translate it when they show it. The catalogue's own validation messages are in
English; the common ones are listed here so that forms show them in Vietnamese too.
Messages carrying a value are :class:`vntwin.errors.Message`: their templates are listed
here (``%(limit)s``...) and ``Page._`` fills the values into the translation.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction; return it unchanged."""
    return message


# DCAT-AP data themes (EU authority table); vocabularies.THEMES holds the Vietnamese names
THEME_LABELS = {
    "AGRI": N_("Agriculture, fisheries, forestry and food"),
    "ECON": N_("Economy and finance"),
    "EDUC": N_("Education, culture and sport"),
    "ENER": N_("Energy"),
    "ENVI": N_("Environment"),
    "GOVE": N_("Government and public sector"),
    "HEAL": N_("Health"),
    "INTR": N_("International issues"),
    "JUST": N_("Justice, legal system and public safety"),
    "REGI": N_("Regions and cities"),
    "SOCI": N_("Population and society"),
    "TECH": N_("Science and technology"),
    "TRAN": N_("Transport"),
}

FREQUENCY_LABELS = {
    "CONT": N_("continuous"), "UPDATE_CONT": N_("continuously updated"),
    "HOURLY": N_("hourly"), "DAILY": N_("daily"), "WEEKLY": N_("weekly"),
    "BIWEEKLY": N_("every two weeks"), "MONTHLY": N_("monthly"),
    "QUARTERLY": N_("quarterly"), "BIANNUAL": N_("twice a year"), "ANNUAL": N_("annual"),
    "BIENNIAL": N_("every two years"), "TRIENNIAL": N_("every three years"),
    "IRREG": N_("irregular"), "NEVER": N_("never updated"), "UNKNOWN": N_("unknown"),
    "OTHER": N_("other"),
}

SNIPPET_TITLES = (
    N_("Metadata with curl"), N_("Table rows with curl"), N_("Download a file with curl"),
    N_("Python (ckanapi)"), N_("OGC API – Features"), N_("OGC API – Features (grid)"),
)

CATALOGUE_MESSAGES = (
    N_("Missing value"),
    N_("That URL is already in use."),
    N_("Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_ "
       "(2 to 100 characters)"),
    N_("Must be an http(s) URL"),
    N_("An organization must be provided"),
    N_("Must not be before temporal_start"),
    N_("Missing value: give a url or an upload"),
    N_("Must be at most %(limit)s characters"),
    N_("Not an ISO 8601 date: %(value)r"),
    N_("Not a valid email address: %(value)r"),
    N_("Unknown licence %(value)r; see license_list"),
    N_("Unknown theme %(value)r; use one of %(choices)s"),
    N_("Must be one of %(choices)s"),
    N_("Organization %(value)r does not exist"),
    N_("Group %(value)r does not exist"),
    N_("Dataset %(value)r was not found"),
    N_("Must be between %(minimum)s and %(maximum)s"),
    N_("only one file may be uploaded per request"),
    N_("the multipart body ended inside the file"),
)

# the six dimensions of the national data-quality standard (vntwin.quality)
QUALITY_LABELS = {
    "accurate": N_("accurate"), "sufficient": N_("sufficient"), "clean": N_("clean"),
    "live": N_("live"), "unified": N_("unified"), "shared": N_("shared"),
}

# an agency's yearly publication targets (vntwin.demand.targets)
TARGET_LABELS = {
    "datasets_to_publish": N_("datasets to publish"),
    "requests_to_answer": N_("data requests to answer"),
    "quality_to_reach": N_("mean quality score to reach"),
}

# data requests (vntwin.demand): statuses, response states, and the common refusals
REQUEST_STATUS_LABELS = {
    "open": N_("open"), "accepted": N_("accepted"), "in_progress": N_("in progress"),
    "published": N_("published"), "declined": N_("declined"), "withdrawn": N_("withdrawn"),
}

RESPONSE_STATE_LABELS = {
    "on_time": N_("answered on time"), "late": N_("answered late"),
    "pending": N_("awaiting an answer"), "overdue": N_("overdue: no answer by the deadline"),
    "none": N_("withdrawn before an answer"),
}

DEMAND_MESSAGES = (
    N_("Missing value: say what data you need"),
    N_("Accepting a request needs the planned publication date"),
    N_("Publishing needs the dataset that answers the request"),
    N_("Declining a request needs a reason"),
    N_("Must be one of open, accepted, in_progress, published, declined"),
    # with a status's words (vntwin.demand.models.status_name), translated as well
    N_("The request is %(status)s; reopen it first"),
    N_("The request is already %(status)s"),
    N_("The request is %(status)s: it takes no more votes"),
)

# units of the national digital-transformation indicators (the demo dataset's ``unit``)
UNIT_LABELS = {
    "percent": N_("percent"), "count": N_("count"), "rank": N_("rank"),
    "billion USD": N_("billion USD"), "million": N_("million"), "billion": N_("billion"),
}

ALERT_SEVERITY_LABELS = {"info": N_("information"), "warning": N_("warning"),
                         "critical": N_("critical")}
ALERT_STATE_LABELS = {"open": N_("open"), "acknowledged": N_("acknowledged"),
                      "resolved": N_("resolved")}
