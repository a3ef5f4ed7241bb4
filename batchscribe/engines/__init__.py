"""Speech engines behind one protocol: Azure (the real SDK) and a fake for unit tests."""
