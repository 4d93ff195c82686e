"""Reports: daily snapshots of the registry's figures and the dashboard that reads them."""
