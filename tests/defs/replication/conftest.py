from tests.lib.replication.fixtures import replica_source, seeded_template  # noqa: F401
