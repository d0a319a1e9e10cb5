"""Bookshop API: catalogue, customer accounts and orders."""
