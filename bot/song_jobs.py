"""From a Spotify track or album to the `Job` its cover is made from: the lookups (metadata,
audio features through the provider chain), the features report people are shown, and the
condition vector the ACGAN takes. The service runs this before it takes a generation slot."""

from __future__ import annotations

from albumgan.bot.jobs import Job
from albumgan.bot.lookups import Lookups, artists, average, feature_report
from albumgan.bot.types import FeatureReport, UserError
from albumgan.links import SpotifyRef
from albumgan.modelfile import ModelInfo


async def song_job(lookups: Lookups, acgan: ModelInfo, ref: SpotifyRef, link: str, seed: int) -> Job:
    """`ref` a track (its own features) or an album (features averaged over its tracks)."""
    return await (_track_job if ref.kind == "track" else _album_job)(lookups, acgan, ref, link, seed)


async def _track_job(lookups: Lookups, acgan: ModelInfo, ref: SpotifyRef, link: str, seed: int) -> Job:
    track = await lookups.track(ref.id)
    known = {}
    if isinstance(track.get("popularity"), int | float):
        known[ref.id] = {"popularity": float(track["popularity"])}
    features = (await lookups.features([ref.id], known))[ref.id]
    report = feature_report(features, tracks_used=int(features.present), tracks_total=1)
    return _conditioned_job(
        acgan,
        "cover",
        report,
        title=track.get("name") or "Untitled track",
        subtitle=artists(track),
        seed=seed,
        input_link=link,
        input_ids=(ref.id,),
        source_url=lookups.public_url(ref),
    )


async def _album_job(lookups: Lookups, acgan: ModelInfo, ref: SpotifyRef, link: str, seed: int) -> Job:
    album, tracks = await lookups.album_and_tracks(ref.id)
    ids = [t["id"] for t in tracks if t.get("id")]
    if not ids:
        raise UserError(
            "That album has no tracks I can read, so there is nothing to average. Try a single track with /cover."
        )
    per_track = await lookups.features(ids, {})
    averaged, counts = average(list(per_track.values()))
    used = sum(1 for f in per_track.values() if f.present)
    report = feature_report(averaged, tracks_used=used, tracks_total=len(ids), counts=counts)
    return _conditioned_job(
        acgan,
        "album",
        report,
        title=album.get("name") or "Untitled album",
        subtitle=artists(album),
        seed=seed,
        input_link=link,
        input_ids=(ref.id, *ids),
        source_url=lookups.public_url(ref),
    )


def _conditioned_job(acgan: ModelInfo, kind: str, report: FeatureReport, **fields) -> Job:
    labels, mask = acgan.encode(report.values)
    return Job(kind=kind, report=report, labels=labels.tolist(), mask=mask.tolist(), **fields)
