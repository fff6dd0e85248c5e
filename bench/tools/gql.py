#!/usr/bin/env python3
"""gql.py URL QUERY [VARIABLES_JSON] [AUTHORIZATION]: POST one GraphQL request, print the JSON answer.
Exit 1 when the answer has errors."""
import json, sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import post
url, query = sys.argv[1], sys.argv[2]
variables = json.loads(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else {}
auth = sys.argv[4] if len(sys.argv) > 4 else ""
resp = post(url, {"query": query, "variables": variables}, auth)
print(json.dumps(resp))
sys.exit(1 if resp.get("errors") else 0)
