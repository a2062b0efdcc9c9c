"""Money: revenue, the rights-holder pool and the payout rules, as pure functions."""
