"""Stand-ins shared by the tests and the benchmarks (which never import each other): fake
Spotify, ReccoBeats, Discord and Slack servers on 127.0.0.1 that speak the real wire formats,
and synthetic cover datasets. Not installed with the package; run from the repository root.
"""
