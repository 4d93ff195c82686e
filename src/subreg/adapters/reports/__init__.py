"""The reports' renderers: the regulator's report as xlsx (openpyxl), CSV and printable HTML (Jinja2)."""
