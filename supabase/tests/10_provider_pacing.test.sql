-- pgTAP: pacing to the provider's rate limits (supabase/schemas/05_usage_and_budget.sql).
-- take_provider_turn gives turns from one bucket per provider and model, refilled from the answers'
-- headers (record_provider_limits); a 429's retry-after blocks the bucket for every worker. Two
-- workers racing for the last turn: tests/e2e/provider-pacing.e2e.test.ts.
--
-- Runs in one transaction that is rolled back; every check names its own model.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = extensions, public;

select plan(17);

-- no headers seen yet: no limit applies
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-unknown', 1000), 0::float8, 'a model whose limits are unknown: go');
select is((select (limit_requests, turns_taken)::text from pm_pipeline.provider_rate_limits where model = 'pgtap-unknown'),
  '(,1)', 'its bucket is created empty and counts the turn');

-- headers: 2 requests left of 3, full again in 2 s (so 0.5 requests a second)
select pm_pipeline.record_provider_limits('openai', 'pgtap-a',
  '{"limit_requests": 3, "remaining_requests": 2, "reset_requests_seconds": 2, "limit_tokens": 100000, "remaining_tokens": 100000, "reset_tokens_seconds": 0}');
select is((select (limit_requests, requests_per_second, limit_tokens)::text from pm_pipeline.provider_rate_limits where model = 'pgtap-a'),
  '(3,0.5,100000)', 'the headers set the limits and the refill rate (what is missing over the time to reset)');
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-a', 1000), 0::float8, 'first of the 2 remaining requests: go');
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-a', 1000), 0::float8, 'second: go');
select ok((select w between 1.5 and 2.0 from pm_pipeline.take_provider_turn('openai', 'pgtap-a', 1000) w),
  'none left: wait about 2 s (the rate refills one request in 2 s)');
select is((select (turns_taken, turns_refused)::text from pm_pipeline.provider_rate_limits where model = 'pgtap-a'),
  '(2,1)', 'a refused turn takes nothing');

-- refill: 2 s later (observed_at moved back) a request is there again
update pm_pipeline.provider_rate_limits set observed_at = observed_at - interval '2.1 seconds' where model = 'pgtap-a';
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-a', 1000), 0::float8, 'the bucket refills between answers: go');

-- an answer of a call sent before those turns says more is left than the bucket counts: the bucket wins
select pm_pipeline.record_provider_limits('openai', 'pgtap-a', '{"limit_requests": 3, "remaining_requests": 3, "reset_requests_seconds": 0}');
select ok((select remaining_requests from pm_pipeline.provider_rate_limits where model = 'pgtap-a') < 1,
  'headers do not give back turns taken for calls still in flight');
-- another client of the key: the headers say less is left than the bucket counts; the headers win
select pm_pipeline.record_provider_limits('openai', 'pgtap-b', '{"limit_requests": 10, "remaining_requests": 10, "reset_requests_seconds": 0}');
select pm_pipeline.record_provider_limits('openai', 'pgtap-b', '{"limit_requests": 10, "remaining_requests": 0, "reset_requests_seconds": 6}');
select ok(pm_pipeline.take_provider_turn('openai', 'pgtap-b') > 0, 'headers that say nothing is left stop the turns');

-- tokens: a call of 60,000 tokens fits once in 100,000
select pm_pipeline.record_provider_limits('openai', 'pgtap-t',
  '{"limit_requests": 100, "remaining_requests": 100, "limit_tokens": 100000, "remaining_tokens": 100000, "reset_tokens_seconds": 0}');
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-t', 60000), 0::float8, 'a call within the tokens left: go');
select ok(pm_pipeline.take_provider_turn('openai', 'pgtap-t', 60000) > 0, 'the next one waits for the tokens to refill');
select ok(pm_pipeline.take_provider_turn('openai', 'pgtap-t', 1000) = 0, 'a small one still fits');

-- a 429's retry-after blocks the bucket for everyone, requests left or not
select pm_pipeline.record_provider_limits('openai', 'pgtap-c', '{"limit_requests": 100, "remaining_requests": 100, "reset_requests_seconds": 0}');
select pm_pipeline.record_provider_limits('openai', 'pgtap-c', '{"retry_after_seconds": 30}');
select ok((select w between 29 and 30 from pm_pipeline.take_provider_turn('openai', 'pgtap-c') w), 'blocked: wait until retry-after, with requests left');
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-t'), 0::float8, 'another model is not blocked by it');
select is(pm_pipeline.take_provider_turn('other', 'pgtap-c'), 0::float8, 'nor another provider''s model of that name');
update pm_pipeline.provider_rate_limits set blocked_until = clock_timestamp() - interval '1 ms' where model = 'pgtap-c';
select is(pm_pipeline.take_provider_turn('openai', 'pgtap-c'), 0::float8, 'once retry-after has passed: go');

select * from finish();
rollback;
