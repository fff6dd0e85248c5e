"""What the bench organises in every read project (0..PROJECTS-1) through contacts-server's API
(tools/organise.py): the typed attribute definitions of the seeded keys, and ~10 saved segments a
dashboard would show. Each segment carries, beside its filter (a ContactFilter input), the plain-SQL
condition on `lead l` that the answer check of q8_segments (tools/check.py) counts with: the same
filter written by hand against the seeded tables, not by the server.

Seeded values (sql/seed_pg.sql, bench.plan/seats/renewal): plan absent on 10 %, else Free 50 % / Pro
30 % / Team 15 % / Enterprise 5 %; seats with a plan (Free 1..3, Pro 1..25, Team 5..100, Enterprise
50..500, skewed low); renewal a YYYY-MM-DD of 2026..2028 on paid plans; tags one of [], [vip],
[newsletter, trial], [lead], [customer, vip] (20 % each). The shares below are of a project's listed
contacts. Two filters follow the seed's i-based patterns, which coincide with the project (i % 10)
when PROJECTS is 10: leads without an email are all in project 0 and deleted ones all in project 5, so
"Trials with email" counts 0 in project 0 and "Deleted" counts only in project 5 (the counts still
scan the project: the cost is the same)."""
from common import search_word_sql

ATTRIBUTES = [
    {"key": "plan", "label": "Plan", "type": "LIST", "options": ["Free", "Pro", "Team", "Enterprise"]},
    {"key": "seats", "label": "Seats", "type": "NUMBER"},
    {"key": "renewal", "label": "Renewal date", "type": "DATE"},
]

LISTED = "l.status = 100"   # NORMAL: what a filter without `status` lists
PLAN = "l.attributes ->> 'plan'"
SEATS = "(case when jsonb_typeof(l.attributes -> 'seats') = 'number' then (l.attributes ->> 'seats')::numeric end)"
RENEWAL = "l.attributes ->> 'renewal'"

# (name, filter, plain-SQL condition); contacts-server lists them by name, case-insensitively.
SEGMENTS = [
    # full text (the GIN index on (project_id, search_vector)): company "Acme Corp", @acme-corp.com  ~15 %
    ("Acme (search)", {"search": "acme"}, f"{LISTED} and {search_word_sql('acme')}"),
    ("Deleted", {"status": ["DELETED"]}, "l.status = 1000"),                                          # project 5 only
    ("Enterprise", {"attributeFilters": [{"key": "plan", "eq": "Enterprise"}]},                       # 4.5 %
     f"{LISTED} and {PLAN} = 'Enterprise'"),
    ("Large accounts (100+ seats)", {"attributeFilters": [{"key": "seats", "gt": 99}]},               # ~3 %
     f"{LISTED} and {SEATS} > 99"),
    ("Enterprise renewals in 2027", {"attributeFilters": [                                            # ~1.5 %
        {"key": "plan", "eq": "Enterprise"}, {"key": "renewal", "gt": "2026-12-31"}, {"key": "renewal", "lt": "2028-01-01"}]},
     f"{LISTED} and {PLAN} = 'Enterprise' and {RENEWAL} > '2026-12-31' and {RENEWAL} < '2028-01-01'"),
    ("No plan yet", {"attributeFilters": [{"key": "plan", "exists": False}]},                         # 10 %
     f"{LISTED} and {PLAN} is null"),
    ("Paying customers", {"tags": ["customer"],                                                       # ~9 %
                          "attributeFilters": [{"key": "plan", "in": ["Pro", "Team", "Enterprise"]}]},
     f"""{LISTED} and l.tags @> '["customer"]'::jsonb and {PLAN} in ('Pro', 'Team', 'Enterprise')"""),
    ("Renewals before July 2026", {"attributeFilters": [{"key": "renewal", "lt": "2026-07-01"}]},     # ~7 %
     f"{LISTED} and {RENEWAL} < '2026-07-01'"),
    ("Small Pro teams", {"attributeFilters": [{"key": "plan", "eq": "Pro"}, {"key": "seats", "lt": 5}]},  # ~11 %
     f"{LISTED} and {PLAN} = 'Pro' and {SEATS} < 5"),
    ("Team VIPs (20+ seats)", {"tags": ["vip"],                                                       # ~3 %
                               "attributeFilters": [{"key": "plan", "eq": "Team"}, {"key": "seats", "gt": 19}]},
     f"""{LISTED} and l.tags @> '["vip"]'::jsonb and {PLAN} = 'Team' and {SEATS} > 19"""),
    ("Trials with email", {"tags": ["trial"], "hasEmail": True},                                      # 20 %
     f"""{LISTED} and l.tags @> '["trial"]'::jsonb and l.email_key is not null"""),
]
