-- The floor: one pipelined statement that does nothing (protocol, parse of a prepared call, transaction).
\startpipeline
SELECT 1;
\endpipeline
