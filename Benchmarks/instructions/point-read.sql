-- engagement.get as the server sends it: the tenant context, then the method's function, one pipeline.
\startpipeline
SELECT app.begin_call(:key, 'engagement.get', NULL, :organisation::uuid);
SELECT api.engagement_get(jsonb_build_object('id', :engagement::uuid));
\endpipeline
