"""The talent service (人才): studios, experts, internships, university cooperation."""
