"""Import flat CRM exports (one row per lead, optionally deals and reps files) through a mapping.

HubSpot contact exports, Salesforce lead reports, marketplace MQL lists, pipeline exports:
one row per lead (or per deal), an id, dates, source and firmographic columns, stages,
flags, owners and custom properties. A :class:`Mapping` (a TOML file, or a preset:
:func:`preset`) says which column is which; the import turns every row into native
history rows and hands them to the native importer's batch core
(:func:`analysis.imports.ingest.apply_parts`), so the rules there hold here too: the same
value checks, the duplicate-key rule, refused rows kept in ``import_rejects`` with their
reason, one transaction per batch, strict mode, row numbers counted like a spreadsheet.

The user-facing rules (mapping keys, values and formats, which facts are kept, flagged
or refused) are in ``docs/importing.md``. The modules, by job:

- :mod:`.vocab` the words: placeholders, flag and stage spellings, field lists;
- :mod:`.mapping`, :mod:`.mapping_check` the mapping, its TOML and its checks;
- :mod:`.detect` guessing a mapping from a header, classifying files;
- :mod:`.values`, :mod:`.dates` reading cells: missing values, ids, numbers, dates;
- :mod:`.rows` a file under its mapping, derived rows as import parts, the order rule;
- :mod:`.leads`, :mod:`.deals` the rows of a leads file and of a deals file;
- :mod:`.plan` what a mapping means, and the dry-run warnings;
- :mod:`.apply` the import itself;
- :mod:`.properties` stored lead properties read back as scoring features.

``from analysis.imports import flat`` then ``flat.<name>`` reaches the public API below.
"""

from analysis.imports.flat.apply import import_flat, reps_part, resolve_mapping
from analysis.imports.flat.dates import (
    DATE_EXAMPLE,
    EARLIEST_DATE,
    DateColumn,
    mapping_date,
    parse_dates,
)
from analysis.imports.flat.detect import (
    PRESET_SHARE,
    classify,
    detect_files_mapping,
    detect_mapping,
    stage_value_table,
)
from analysis.imports.flat.mapping import (
    DealMapping,
    Mapping,
    dumps_toml,
    load_mapping,
    preset,
    role_options,
)
from analysis.imports.flat.plan import describe, outcome_warnings, warnings_of
from analysis.imports.flat.properties import (
    NUMERIC_SHARE,
    PROPERTY_CATALOGUE_SQL,
    has_table,
    property_catalogue,
)
from analysis.imports.flat.rows import OUT_OF_ORDER
from analysis.imports.flat.values import (
    clean_ids,
    missing_mask,
    parse_employees,
    parse_number,
    read_export,
)
from analysis.imports.flat.vocab import (
    ALL_STAGES,
    DATE_FORMATS,
    DEAL_FIELDS,
    FLAG_WORDS,
    FREE_EMAIL_DOMAINS,
    LEAD_FIELDS,
    NOT_SET,
    PLACEHOLDERS,
    PRESETS,
    REP_FIELDS,
    STAGE_WORDS,
    MappingError,
    norm_name,
    value_key,
)
from analysis.imports.tomltext import toml_string

__all__ = [
    "ALL_STAGES",
    "DATE_EXAMPLE",
    "DATE_FORMATS",
    "DEAL_FIELDS",
    "EARLIEST_DATE",
    "FLAG_WORDS",
    "FREE_EMAIL_DOMAINS",
    "LEAD_FIELDS",
    "NOT_SET",
    "NUMERIC_SHARE",
    "OUT_OF_ORDER",
    "PLACEHOLDERS",
    "PRESETS",
    "PRESET_SHARE",
    "PROPERTY_CATALOGUE_SQL",
    "REP_FIELDS",
    "STAGE_WORDS",
    "DateColumn",
    "DealMapping",
    "Mapping",
    "MappingError",
    "classify",
    "clean_ids",
    "describe",
    "detect_files_mapping",
    "detect_mapping",
    "dumps_toml",
    "has_table",
    "import_flat",
    "load_mapping",
    "mapping_date",
    "missing_mask",
    "norm_name",
    "outcome_warnings",
    "parse_dates",
    "parse_employees",
    "parse_number",
    "preset",
    "property_catalogue",
    "read_export",
    "reps_part",
    "resolve_mapping",
    "role_options",
    "stage_value_table",
    "toml_string",
    "value_key",
    "warnings_of",
]
