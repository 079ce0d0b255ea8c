"""The reference snapshot checks read from memory (area codes, bans, policies), how a change to
it is announced, and the area-code record it holds. A leaf: it knows `core` and `events` only,
so the features that feed it (areacodes, callingrules) and those that read it (numbers, checks,
uploads) never import each other for it."""
