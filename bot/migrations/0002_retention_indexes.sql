-- Pruning by age ([storage] in bot.toml) deletes the oldest rows every hour or so: these
-- indexes let it find them without reading whole tables.
CREATE INDEX generations_by_age ON generations (created_at);
CREATE INDEX feature_cache_by_age ON feature_cache (fetched_at);
CREATE INDEX metadata_cache_by_age ON metadata_cache (fetched_at);
