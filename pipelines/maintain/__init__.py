"""The maintain stage: Delta VACUUM that spares the versions still served or validated, and
the sweep of what crashed runs and Great Expectations left behind."""
