-- The tenant context alone (the key check and the settings of app.begin_call).
\startpipeline
SELECT app.begin_call(:key, 'engagement.get', NULL, :organisation::uuid);
\endpipeline
