"""scripts/api_fuzz's own check, beside all of schemathesis's (imported by schemathesis_run.py).

A request openapi.yaml accepts must not be refused with a 400, except for what no JSON Schema can
state, which the spec says in words: whether a string is a phone number (libphonenumber's
metadata), whether a cursor is one this API issued, captured_at's window around the present,
whether a program id is one the deployment declares, what the number's record holds, and whether
a consent's wording matches its hash or a program's registered wording.
schemathesis's positive_data_acceptance is told to let 400 through (scripts/schemathesis.toml) so
that this check can tell those refusals from the others: any other 400 to a schema-valid request
means the spec accepts what the API refuses, a limit missing from openapi.yaml.
"""

import re

import schemathesis

# Per operation: error code -> what its message must name (None: any message).
BEYOND_SCHEMA = {
    "POST /resubscribe": {
        "invalid_msisdn": None,
        # At most 7 days old and 5 minutes ahead: relative to now.
        "invalid_consent": re.compile(
            r"^consent\.captured_at is (in the future|more than 7 days old)"
        ),
        # The deployment's PROGRAMS.
        "invalid_parameter": re.compile(r"^program: no such program"),
    },
    "GET /subscriptions/{msisdn}": {"invalid_msisdn": None},
    "POST /eligibility": {"invalid_parameter": re.compile(r"^program: no such program")},
    "GET /subscriptions/{msisdn}/evidence": {
        "invalid_msisdn": None,
        "invalid_parameter": re.compile(r"^program: no such program"),
    },
    "POST /consents": {
        "invalid_msisdn": None,
        "invalid_parameter": re.compile(r"^program: no such program"),
        # Relative to now; the number's record (a newer opt-out needs a fresh consent); the
        # program's registered wordings; a text and a hash that disagree.
        "invalid_consent": re.compile(
            r"^(consent\.captured_at is (in the future|before the year 2000)"
            r"|this consent is newer than the number's opt-out"
            r"|consent: (wording_sha256 is not the SHA-256 of wording"
            r"|wording_version .*registers|the wording is not the text registered))"
        ),
    },
    "GET /opt-outs": {
        "invalid_cursor": None,
        "invalid_parameter": re.compile(r"^program: no such program"),
    },
    "POST /opt-outs": {
        "invalid_msisdn": None,
        "invalid_parameter": re.compile(r"^program: no such program"),
        # Not before 2000, at most 5 minutes ahead of now.
        "invalid_evidence": re.compile(
            r"^evidence\.captured_at is (in the future|before the year 2000)"
        ),
    },
    "GET /reviews": {"invalid_cursor": None},
    "POST /reviews/{id}": {"invalid_parameter": re.compile(r"^program: no such program")},
}


@schemathesis.check
def refusals_beyond_schema(ctx, response, case):
    """A schema-valid request refused (400) only for a reason the spec cannot state as a schema."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        body = response.json()
        code, message = body["error"], body["message"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("a 400 without the Error body") from None
    allowed = BEYOND_SCHEMA.get(case.operation.label, {})
    if code in allowed and (allowed[code] is None or allowed[code].search(message)):
        return None
    raise AssertionError(
        f"Schema-valid request refused: {code}: {message}\n\n"
        "openapi.yaml accepts this request but the API refuses it: state the limit in the spec"
    )
