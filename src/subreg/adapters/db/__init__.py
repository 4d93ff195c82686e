"""The subscriber database: SQLAlchemy Core tables, engines, migrations, repositories, unit of work."""
