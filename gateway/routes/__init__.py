"""HTTP routes that are not provider APIs."""
