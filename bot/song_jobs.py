"""From a Spotify track or album to the `Job` its cover is made from: the lookups (metadata,
audio features through the provider chain), the features report people are shown, and the
condition vector the ACGAN takes. The service runs this before it takes a generation slot."""

from __future__ import annotations

import dataclasses

from albumgan.bot.jobs import Job
from albumgan.bot.lookups import Lookups, artists, average, feature_report
from albumgan.bot.types import FeatureReport, UserError
from albumgan.links import SpotifyRef
from albumgan.modelfile import ModelInfo


async def song_job(lookups: Lookups, acgan: ModelInfo, ref: SpotifyRef, link: str, seed: int) -> Job:
    """`ref` a track (its own features) or an album (features averaged over its tracks)."""
    if ref.kind == "track":
        kind, untitled = "cover", "Untitled track"
        subject, input_ids, report = await _track(lookups, ref)
    else:
        kind, untitled = "album", "Untitled album"
        subject, input_ids, report = await _album(lookups, ref)
    _, moved = acgan.trained_ranges.fit(report.values)
    report = dataclasses.replace(report, fitted={name: used for name, (_, used) in moved.items()})
    labels, mask = acgan.encode(report.values)
    return Job(
        kind=kind,
        report=report,
        labels=labels.tolist(),
        mask=mask.tolist(),
        title=subject.get("name") or untitled,
        subtitle=artists(subject),
        seed=seed,
        input_link=link,
        input_ids=input_ids,
        source_url=lookups.public_url(ref),
    )


async def _track(lookups: Lookups, ref: SpotifyRef) -> tuple[dict, tuple[str, ...], FeatureReport]:
    """The track's metadata, its id, and its own features (popularity from the track object
    when Spotify still gives it)."""
    track = await lookups.track(ref.id)
    known = {}
    if isinstance(track.get("popularity"), int | float):
        known[ref.id] = {"popularity": float(track["popularity"])}
    features = (await lookups.features([ref.id], known))[ref.id]
    return track, (ref.id,), feature_report(features, tracks_used=int(features.present), tracks_total=1)


async def _album(lookups: Lookups, ref: SpotifyRef) -> tuple[dict, tuple[str, ...], FeatureReport]:
    """The album's metadata, its id and its tracks' ids, and the features averaged over them."""
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
    return album, (ref.id, *ids), report
