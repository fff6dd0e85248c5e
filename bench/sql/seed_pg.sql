-- Deterministic seed of the project's REAL schema (tables created by contacts-server's own
-- migrations, which run.sh applies first by starting the server once on the empty database).
--
--   psql -v n=1000000 -v projects=10 -v hash="'<argon2 PHC>'" -f seed_pg.sql
--
-- Lead i (1..n) belongs to project i % projects; it has 1 + i % 5 requests (3n in all when n is a
-- multiple of 5) and one ANONYMOUS visitor user (its lead_id) with a GUEST membership. Each project
-- has one AGENT user (agent<p>@bench.example, OWNER) whose password hash is :hash (computed once by
-- the server's own signUp). Project number :projects ("Bench writes") gets no leads: Q4 (visitor
-- writes) goes there, so that writes never change the answers of the read queries.
--
-- Value functions live in schema "bench" (not "public", so PostGraphile does not expose them);
-- pgbench uses the same functions to pick its parameters, so they agree with the seed by
-- construction. The load drops the keys, indexes and foreign keys the migrations made, loads,
-- and re-creates them from their saved definitions (pg_get_indexdef / pg_get_constraintdef): the
-- schema afterwards is exactly the one the migrations made.
\set ON_ERROR_STOP on
\timing on

DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

-- A UUID (version 4 layout) derived from a kind and a number: md5 spreads them like random v4 ids.
CREATE FUNCTION bench.uid(kind text, i bigint) RETURNS uuid IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN overlay(overlay(md5(kind || ':' || i) placing '4' from 13) placing '8' from 17)::uuid;

CREATE FUNCTION bench.nprojects() RETURNS int IMMUTABLE PARALLEL SAFE LANGUAGE sql RETURN :projects;
CREATE FUNCTION bench.project_of(i bigint) RETURNS uuid IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN bench.uid('project', i % :projects);

-- Names: ASCII forms for the email, display forms (some with diacritics, NFC) for fullname.
CREATE FUNCTION bench.first_ascii(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (ARRAY['maria','jose','zoe','bjorn','lukasz','chloe','soren','ines','ahmed','yuki',
  'olivia','liam','emma','noah','ava','lucas','mia','mateo','sofia','leon',
  'amelia','hugo','giulia','luca','hannah','felix','nora','elias','sara','omar',
  'anna','jonas','lea','ivan','elena','marco','clara','david','laura','pablo'])[(i / :projects) % 40 + 1];
CREATE FUNCTION bench.first_display(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (ARRAY['María','José','Zoë','Björn','Łukasz','Chloé','Søren','Inés','Ahmed','Yuki',
  'Olivia','Liam','Emma','Noah','Ava','Lucas','Mia','Mateo','Sofía','Léon',
  'Amelia','Hugo','Giulia','Luca','Hannah','Felix','Nora','Elias','Sara','Omar',
  'Anna','Jonas','Léa','Ivan','Elena','Marco','Clara','David','Laura','Pablo'])[(i / :projects) % 40 + 1];
CREATE FUNCTION bench.last_ascii(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (ARRAY['garcia','rossi','muller','smith','nowak','dubois','jensen','silva','khan','tanaka',
  'brown','martin','schmidt','lopez','bianchi','novak','kowalski','moreau','larsen','santos',
  'wilson','fischer','ricci','johnson','weber','costa','petit','hansen','romano','meyer',
  'taylor','conti','wagner','ferrari','perez','bauer','lambert','olsen','gallo','ito'])[(i / (:projects * 40)) % 40 + 1];
CREATE FUNCTION bench.last_display(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (ARRAY['García','Rossi','Müller','Smith','Nowak','Dubois','Jensen','Silva','Khan','Tanaka',
  'Brown','Martin','Schmidt','López','Bianchi','Novák','Kowalski','Moreau','Larsen','Santos',
  'Wilson','Fischer','Ricci','Johnson','Weber','Costa','Petit','Hansen','Romano','Meyer',
  'Taylor','Conti','Wagner','Ferrari','Pérez','Bauer','Lambert','Olsen','Gallo','Itō'])[(i / (:projects * 40)) % 40 + 1];
CREATE FUNCTION bench.domain(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (ARRAY['gmail.com','outlook.com','yahoo.com','proton.me','icloud.com','example.org',
  'acme-corp.com','web.de'])[(i / 3) % 8 + 1];

-- Lead i has an email unless i % 10 = 0. email_key is the normalised (lower-case) key the server
-- matches on; one lead in four shows its email capitalised (as typed), e.g. Maria.Garcia.123@Gmail.Com.
CREATE FUNCTION bench.email_key(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN CASE WHEN i % 10 = 0 THEN NULL
  ELSE bench.first_ascii(i) || '.' || bench.last_ascii(i) || '.' || i || '@' || bench.domain(i) END;
CREATE FUNCTION bench.email_display(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN CASE WHEN i % 4 = 0 THEN initcap(bench.email_key(i)) ELSE bench.email_key(i) END;
-- Status: TEMP when i % 100 = 5, DELETED when i % 100 = 15, else NORMAL (so i % 10 = 5 is never
-- listed, i % 10 = 0 has no email: Q1 draws i with i % 10 in {1,2,3,4,6,7,8,9}).
CREATE FUNCTION bench.lead_status(i bigint) RETURNS int IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN CASE i % 100 WHEN 5 THEN 50 WHEN 15 THEN 1000 ELSE 100 END;

-- Tags (one of 5 sets, 20 % each) and typed attributes are drawn from md5 (bench.u: uniform in [0, 1)
-- per kind and lead), so that they do not follow the i-based patterns above, which with 10 projects
-- coincide with the project (i % 10): every project gets the same mix (saved segments filter on them).
-- Typed attributes (defined per project through the API by tools/organise.py: plan LIST, seats
-- NUMBER, renewal DATE), stored as the server stores them (a LIST value in its option's spelling,
-- a DATE as YYYY-MM-DD text):
--   plan     absent 10 %; else Free 50 %, Pro 30 %, Team 15 %, Enterprise 5 % (of those with one)
--   seats    with a plan: Free 1..3, Pro 1..25, Team 5..100, Enterprise 50..500, skewed low (u^2)
--   renewal  paid plans only (Pro, Team, Enterprise): a day of 2026-01-01..2028-12-31, uniform
CREATE FUNCTION bench.u(kind text, i bigint) RETURNS float8 IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN ('x' || substr(md5(kind || ':' || i), 1, 8))::bit(32)::bigint / 4294967296.0;
CREATE FUNCTION bench.plan(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (SELECT CASE WHEN u < 0.10 THEN NULL WHEN u < 0.55 THEN 'Free' WHEN u < 0.82 THEN 'Pro'
                    WHEN u < 0.955 THEN 'Team' ELSE 'Enterprise' END FROM (SELECT bench.u('plan', i) AS u) x);
CREATE FUNCTION bench.seats(i bigint) RETURNS int IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN (SELECT CASE p WHEN 'Free' THEN 1 + floor(3 * s * s) WHEN 'Pro' THEN 1 + floor(25 * s * s)
                      WHEN 'Team' THEN 5 + floor(96 * s * s) WHEN 'Enterprise' THEN 50 + floor(451 * s * s) END
        FROM (SELECT bench.plan(i) AS p, bench.u('seats', i) AS s) x)::int;
CREATE FUNCTION bench.renewal(i bigint) RETURNS text IMMUTABLE PARALLEL SAFE LANGUAGE sql
RETURN CASE WHEN bench.plan(i) IN ('Pro', 'Team', 'Enterprise')
  THEN to_char(date '2026-01-01' + floor(bench.u('renewal', i) * 1096)::int, 'YYYY-MM-DD') END;

BEGIN;
-- Save, then drop, the keys, secondary indexes and foreign keys of the tables being loaded.
-- Foreign keys of other tables that reference these (e.g. contact_note -> lead) are dropped and
-- re-created too: a key they depend on cannot be dropped while they exist.
CREATE TEMP TABLE saved_con AS
  SELECT conrelid::regclass::text AS tbl, conname, contype, pg_get_constraintdef(oid) AS def
  FROM pg_constraint WHERE contype IN ('p', 'u', 'f') AND connamespace = 'public'::regnamespace
    AND (conrelid::regclass::text IN ('project_member', 'lead', 'request', '"user"', 'lead_merge', 'lead_event')
         OR (contype = 'f' AND confrelid::regclass::text IN ('project_member', 'lead', 'request', '"user"', 'lead_merge', 'lead_event')));
CREATE TEMP TABLE saved_ix AS
  SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
  FROM pg_index i
  WHERE i.indrelid::regclass::text IN ('project_member', 'lead', 'request', '"user"', 'lead_merge', 'lead_event')
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM saved_con ORDER BY contype = 'f' DESC LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname); END LOOP;
  FOR r IN SELECT * FROM saved_ix LOOP EXECUTE format('DROP INDEX %s', r.name); END LOOP;
END $$;
-- CASCADE: every table referencing these (companies, notes, attribute definitions, segments, bulk
-- jobs, ... of the migrations' signUp above) is emptied too.
TRUNCATE webhook_delivery, webhook, event_head, lead_event, lead_merge, request, lead, project_member, "user", project CASCADE;

INSERT INTO project (id, name, created_at)
SELECT bench.uid('project', p), CASE WHEN p = :projects THEN 'Bench writes' ELSE 'Bench project ' || p END,
       timestamptz '2022-12-01 00:00:00+00' + p * interval '1 day'
FROM generate_series(0, :projects) AS p;

INSERT INTO "user" (id, kind, login_email, password_hash, fullname, email, attributes, created_at)
SELECT bench.uid('agent', p), 'AGENT', 'agent' || p || '@bench.example', :hash, 'Agent ' || p,
       'agent' || p || '@bench.example', '{}'::jsonb, timestamptz '2022-12-01 00:00:00+00' + p * interval '1 day'
FROM generate_series(0, :projects) AS p;
INSERT INTO project_member (project_id, user_id, role, created_at)
SELECT bench.uid('project', p), bench.uid('agent', p), 'OWNER', timestamptz '2022-12-01 00:00:00+00' + p * interval '1 day'
FROM generate_series(0, :projects) AS p;

-- Visitors: one per lead, created a minute before their lead.
INSERT INTO "user" (id, kind, login_email, password_hash, fullname, email, attributes, created_at, project_id)
SELECT bench.uid('visitor', i), 'ANONYMOUS', NULL, NULL,
       CASE WHEN i % 3 = 0 THEN NULL ELSE bench.first_display(i) || ' ' || bench.last_display(i) END,
       bench.email_display(i),
       jsonb_build_object('userAgent', (ARRAY['Mozilla/5.0 (Windows NT 10.0)', 'Mozilla/5.0 (Macintosh)',
         'Mozilla/5.0 (iPhone)', 'Mozilla/5.0 (Linux; Android 14)'])[i % 4 + 1]),
       timestamptz '2023-01-01 00:00:00+00' + i * interval '7 seconds' - interval '1 minute',
       bench.project_of(i)
FROM generate_series(1, :n::bigint) AS i;
INSERT INTO project_member (project_id, user_id, role, created_at)
SELECT bench.project_of(i), bench.uid('visitor', i), 'GUEST',
       timestamptz '2023-01-01 00:00:00+00' + i * interval '7 seconds' - interval '1 minute'
FROM generate_series(1, :n::bigint) AS i;

-- Companies (when the companies migration made the table): the 8 names of lead.company, one company
-- per name and read project, bench.uid('company', p * 8 + k) for name k; a lead with a company text
-- is linked to it (lead.company_id), as the server keeps them (lead.company = the company's name).
DO $do$ BEGIN
  IF to_regclass('public.company') IS NOT NULL THEN
    EXECUTE format($sql$
      INSERT INTO company (id, project_id, name, name_key, domain, attributes, version, created_at, updated_at)
      SELECT bench.uid('company', p * 8 + k), bench.uid('project', p), n.name, lower(n.name), NULL, '{}'::jsonb, 1,
             timestamptz '2022-12-01 00:00:00+00' + p * interval '1 day', timestamptz '2022-12-01 00:00:00+00' + p * interval '1 day'
      FROM generate_series(0, %s - 1) AS p,
           unnest(ARRAY['Acme Corp', 'Globex', 'Initech', 'Umbrella Health', 'Stark Industries', 'Wayne Enterprises',
                        'Hooli', 'Soylent GmbH']) WITH ORDINALITY AS n(name, k1), LATERAL (SELECT k1 - 1 AS k) AS kk$sql$,
      bench.nprojects());
  END IF;
END $do$;

-- Leads. Columns added by later migrations are filled when present (company, company_id, city,
-- country, last_request_at: the newest request's time, as the server maintains it); any other
-- column keeps its default / NULL.
SELECT set_config('bench.n', :'n', false);
DO $do$
DECLARE
  cols text := '';
  vals text := '';
  has text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
                      WHERE table_schema = 'public' AND table_name = 'lead');
BEGIN
  IF 'company' = ANY (has) THEN
    cols := cols || ', company';
    vals := vals || $v$, CASE WHEN i % 3 = 0 THEN (ARRAY['Acme Corp', 'Globex', 'Initech', 'Umbrella Health',
      'Stark Industries', 'Wayne Enterprises', 'Hooli', 'Soylent GmbH'])[i % 8 + 1] END$v$;
  END IF;
  IF 'company_id' = ANY (has) AND to_regclass('public.company') IS NOT NULL THEN
    cols := cols || ', company_id';
    vals := vals || $v$, CASE WHEN i % 3 = 0 THEN bench.uid('company', (i % bench.nprojects()) * 8 + i % 8) END$v$;
  END IF;
  IF 'city' = ANY (has) THEN
    cols := cols || ', city';
    vals := vals || $v$, CASE WHEN i % 2 = 0 THEN (ARRAY['New York', 'London', 'Berlin', 'Paris', 'Milano',
      'Madrid', 'São Paulo', 'Bengaluru'])[i % 8 + 1] END$v$;
  END IF;
  IF 'country' = ANY (has) THEN
    cols := cols || ', country';
    vals := vals || $v$, CASE WHEN i % 2 = 0 THEN (ARRAY['US', 'GB', 'DE', 'FR', 'IT', 'ES', 'BR', 'IN'])[i % 8 + 1] END$v$;
  END IF;
  IF 'last_request_at' = ANY (has) THEN
    cols := cols || ', last_request_at';
    vals := vals || $v$, timestamptz '2023-01-01 00:00:00+00' + i * interval '7 seconds' + interval '30 seconds'
      + (i % 5) * interval '1 hour'$v$;
  END IF;
  EXECUTE replace(replace(replace($sql$
    INSERT INTO lead (id, project_id, lead_id, fullname, email, email_key, phone, attributes, tags, status,
                      version, created_at, updated_at __COLS__)
    SELECT bench.uid('lead', i), bench.project_of(i), bench.uid('visitor', i)::text,
           CASE WHEN i % 7 = 0 THEN NULL ELSE bench.first_display(i) || ' ' || bench.last_display(i) END,
           bench.email_display(i), bench.email_key(i),
           CASE i % 3 WHEN 0 THEN '+1415' || lpad(((i * 7919) % 10000000)::text, 7, '0')
                      WHEN 1 THEN NULL
                      ELSE '+4420' || lpad(((i * 104729) % 100000000)::text, 8, '0') END,
           jsonb_strip_nulls(jsonb_build_object('source', (ARRAY['widget', 'email', 'form', 'whatsapp'])[i % 4 + 1],
                              'plan', bench.plan(i), 'seats', bench.seats(i), 'renewal', bench.renewal(i),
                              'score', i % 100,
                              'country', (ARRAY['US', 'GB', 'DE', 'FR', 'IT', 'ES', 'BR', 'IN'])[i % 8 + 1],
                              'newsletter', i % 2 = 0)),
           (ARRAY['[]', '["vip"]', '["newsletter", "trial"]', '["lead"]', '["customer", "vip"]'])[1 + floor(bench.u('tags', i) * 5)::int]::jsonb,
           bench.lead_status(i), 1 + i % 3,
           timestamptz '2023-01-01 00:00:00+00' + i * interval '7 seconds',
           timestamptz '2023-01-01 00:00:00+00' + i * interval '7 seconds' + (i % 1000) * interval '1 minute'
           __VALS__
    FROM generate_series(1, __N__::bigint) AS i$sql$, '__COLS__', cols), '__VALS__', vals), '__N__', current_setting('bench.n'));
END $do$;

-- Requests: lead i has 1 + i % 5 of them (k = 1..), an hour apart, the last one the newest.
INSERT INTO request (id, request_id, project_id, lead, requester_id, first_text, status, channel, attributes,
                     created_at, updated_at, closed_at)
SELECT bench.uid('request', i * 8 + k),
       'support-group-' || bench.project_of(i) || '-' || md5('rq:' || (i * 8 + k)),
       bench.project_of(i), bench.uid('lead', i), bench.uid('visitor', i),
       (ARRAY['Hi, I need help with my order', 'Hello! Is anyone there?', 'My payment failed twice, can you check?',
              'How do I reset my password?', 'Do you ship to Italy?', 'I would like a refund for my last order',
              'Can I upgrade my plan mid-month?', 'The app crashes when I open the settings page'])[(i + k) % 8 + 1]
         || ' (ref ' || (i * 8 + k) || ')',
       st.status,
       (ARRAY['chat21', 'chat21', 'chat21', 'chat21', 'email', 'form', 'whatsapp', 'telegram'])[(i + 3 * k) % 8 + 1],
       jsonb_build_object('departmentId', md5('dep:' || i % 3), 'sourcePage',
                          'https://shop.example.com/products/' || (i % 500), 'client', 'widget/5.0.' || (k % 3)),
       ts.at, ts.at + interval '5 minutes',
       CASE WHEN st.status = 1000 THEN ts.at + interval '20 minutes' END
FROM generate_series(1, :n::bigint) AS i,
     LATERAL generate_series(1, 1 + (i % 5)::int) AS k,
     LATERAL (SELECT (ARRAY[100, 150, 200, 300, 1000, 1000, 1000, 1000])[(i * 8 + k) % 8 + 1] AS status) AS st,
     LATERAL (SELECT timestamptz '2023-01-01 00:00:00+00' + i * interval '7 seconds' + interval '30 seconds'
                     + (k - 1) * interval '1 hour' AS at) AS ts;

-- Re-create what was dropped, from the saved definitions.
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT * FROM saved_con ORDER BY contype = 'f' LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def); END LOOP;
  FOR r IN SELECT * FROM saved_ix LOOP EXECUTE r.def; END LOOP;
END $$;
COMMIT;
VACUUM (ANALYZE) project, "user", project_member, lead, request;
DO $$ BEGIN IF to_regclass('public.company') IS NOT NULL THEN ANALYZE company; END IF; END $$;
SELECT (SELECT count(*) FROM lead) AS leads, (SELECT count(*) FROM request) AS requests,
       (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM project) AS projects;
