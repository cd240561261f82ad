"""Editorial control: operators' verse plans, the feast calendar and the review of each pair's verse."""
