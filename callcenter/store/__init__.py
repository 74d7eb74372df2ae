"""PostgreSQL: tables, migrations, the durable record writer and report queries."""
