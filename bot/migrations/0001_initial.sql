-- Feature values per track as the provider chain returned them (JSON objects by feature
-- name, None = the providers did not have it), with the provider of each present value.
CREATE TABLE feature_cache (
    track_id     TEXT PRIMARY KEY,
    values_json  TEXT NOT NULL,
    sources_json TEXT NOT NULL,
    fetched_at   REAL NOT NULL
);

-- Spotify objects (track, album, album_tracks) as JSON, to spare the rate-limited API.
CREATE TABLE metadata_cache (
    kind       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    data_json  TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (kind, object_id)
);

-- Everything needed to re-make a cover exactly: the condition vectors as fed to the model,
-- the base seed and the chain of latent perturbations, and which model (by weights hash).
CREATE TABLE generations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at     REAL NOT NULL,
    platform       TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    channel_id     TEXT NOT NULL DEFAULT '',
    guild_id       TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL CHECK (kind IN ('cover', 'album', 'random')),
    parent_id      INTEGER REFERENCES generations(id),
    input_link     TEXT NOT NULL DEFAULT '',
    input_ids_json TEXT NOT NULL DEFAULT '[]',
    title          TEXT NOT NULL,
    subtitle       TEXT NOT NULL,
    features_json  TEXT,
    labels_json    TEXT,
    mask_json      TEXT,
    seed           INTEGER NOT NULL,
    latent_steps_json TEXT NOT NULL DEFAULT '[]',
    model_kind     TEXT NOT NULL,
    model_name     TEXT NOT NULL,
    model_version  TEXT NOT NULL,
    model_sha256   TEXT NOT NULL
);
CREATE INDEX generations_by_user ON generations (platform, user_id, created_at);

CREATE TABLE guild_settings (
    platform   TEXT NOT NULL,
    guild_id   TEXT NOT NULL,
    key        TEXT NOT NULL,
    value_json TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (platform, guild_id, key)
);
