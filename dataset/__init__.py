"""Dataset versions: immutable folders of filtered trajectories plus a manifest."""
