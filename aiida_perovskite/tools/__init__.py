"""Helpers for AiiDA nodes and set-up (codes, profiles)."""
