"""Identity verification as the rules stand today: chip data, face biometrics, population matching."""
