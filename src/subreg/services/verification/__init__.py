"""Identity verification use cases: chip data, face biometrics, population-database matching."""
