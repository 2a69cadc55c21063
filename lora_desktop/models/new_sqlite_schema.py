# ruff: noqa: E501
"""The schema of a new SQLite library at the head revision (generated: do not edit).

Written by ``python -m lora_desktop.models.sqlite_schema`` from a library the
migrations made; see ``sqlite_schema``."""

REVISION = "0005"

STATEMENTS = (
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)",
    "CREATE TABLE adapters (\n\tid VARCHAR(36) NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tversion VARCHAR(200), \n\tfile_path TEXT NOT NULL, \n\tweight FLOAT NOT NULL, \n\tactive BOOLEAN NOT NULL, \n\tordinal INTEGER, \n\tarchetype VARCHAR(200), \n\tarchetype_confidence FLOAT, \n\ttrigger_words JSON NOT NULL, \n\tnotes TEXT NOT NULL, \n\tsha256 VARCHAR(64), \n\tfile_size BIGINT, \n\tfile_mtime FLOAT, \n\tfile_status VARCHAR(16) NOT NULL, \n\tsearch_text TEXT NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tdeleted_at DATETIME, title VARCHAR(500), base_model VARCHAR(100), network_module VARCHAR(200), network_dim INTEGER, network_alpha FLOAT, resolution VARCHAR(50), trigger_phrase VARCHAR(500), metadata_indexed BOOLEAN DEFAULT '0' NOT NULL, header_size BIGINT, sha256_weights VARCHAR(64), hash_size BIGINT, hash_mtime FLOAT, file_inode BIGINT, hashed_at DATETIME, inspected_at DATETIME, inspect_error TEXT, incomplete BOOLEAN DEFAULT '0' NOT NULL, dangerous BOOLEAN DEFAULT '0' NOT NULL, dangerous_globals JSON DEFAULT '[]' NOT NULL, preview_path TEXT, edited_fields JSON DEFAULT '[]' NOT NULL, quick_key VARCHAR(64), \n\tCONSTRAINT pk_adapters PRIMARY KEY (id)\n)",
    "CREATE UNIQUE INDEX uq_adapters_live_name ON adapters (name) WHERE deleted_at IS NULL",
    "CREATE UNIQUE INDEX uq_adapters_live_file_path ON adapters (file_path) WHERE deleted_at IS NULL",
    "CREATE INDEX ix_adapters_compose ON adapters (deleted_at, (ordinal IS NULL), ordinal, name, id)",
    "CREATE INDEX ix_adapters_active ON adapters (active, deleted_at)",
    "CREATE INDEX ix_adapters_search ON adapters (deleted_at, search_text)",
    "CREATE INDEX ix_adapters_sha256 ON adapters (sha256)",
    "CREATE TABLE adapter_tags (\n\tadapter_id VARCHAR(36) NOT NULL, \n\ttag VARCHAR(100) NOT NULL, \n\tposition INTEGER NOT NULL, \n\tCONSTRAINT pk_adapter_tags PRIMARY KEY (adapter_id, tag), \n\tCONSTRAINT fk_adapter_tags_adapter_id_adapters FOREIGN KEY(adapter_id) REFERENCES adapters (id) ON DELETE CASCADE\n)",
    "CREATE INDEX ix_adapter_tags_tag ON adapter_tags (tag, adapter_id)",
    "CREATE INDEX ix_adapters_sha256_weights ON adapters (sha256_weights)",
    "CREATE INDEX ix_adapters_base_model ON adapters (base_model)",
    "CREATE TABLE delivery_targets (\n\tid VARCHAR(36) NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tmode VARCHAR(16) NOT NULL, \n\tconfig JSON NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_delivery_targets PRIMARY KEY (id), \n\tCONSTRAINT uq_delivery_targets_name UNIQUE (name)\n)",
    "CREATE TABLE \"delivery_jobs\" (\n\tid VARCHAR(36) NOT NULL, \n\tprompt TEXT NOT NULL, \n\tmode VARCHAR(16) NOT NULL, \n\tparams JSON NOT NULL, \n\tstatus VARCHAR(16) NOT NULL, \n\tresult JSON, \n\terror TEXT, \n\tattempts INTEGER NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tstarted_at DATETIME, \n\tfinished_at DATETIME, \n\ttarget_id VARCHAR(36), \n\tcancel_requested BOOLEAN DEFAULT '0' NOT NULL, \n\tCONSTRAINT pk_delivery_jobs PRIMARY KEY (id), \n\tCONSTRAINT fk_delivery_jobs_target_id_delivery_targets FOREIGN KEY(target_id) REFERENCES delivery_targets (id) ON DELETE SET NULL\n)",
    "CREATE INDEX ix_delivery_jobs_status ON delivery_jobs (status)",
    "CREATE INDEX ix_delivery_jobs_target_id ON delivery_jobs (target_id)",
    "CREATE TABLE library_folders (\n\tid VARCHAR(36) NOT NULL, \n\tpath TEXT NOT NULL, \n\tauto_import BOOLEAN DEFAULT '1' NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_library_folders PRIMARY KEY (id), \n\tCONSTRAINT uq_library_folders_path UNIQUE (path)\n)",
    "CREATE INDEX ix_adapters_file_size ON adapters (file_size)",
    "CREATE TABLE adapter_details (\n\tadapter_id VARCHAR(36) NOT NULL, \n\ttraining_metadata JSON, \n\ttrigger_candidates JSON DEFAULT '[]' NOT NULL, \n\tsidecars JSON DEFAULT '{}' NOT NULL, \n\tdescription TEXT, \n\tCONSTRAINT pk_adapter_details PRIMARY KEY (adapter_id), \n\tCONSTRAINT fk_adapter_details_adapter_id_adapters FOREIGN KEY(adapter_id) REFERENCES adapters (id) ON DELETE CASCADE\n)",
)
