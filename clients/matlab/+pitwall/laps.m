function L = laps(runId)
%LAPS  The laps of a run: struct array with lap, start_s, end_s, time_s, distance_m, source.
  body = pitwall.api('GET', ['/api/v1/runs/' runId '/laps']);
  L = body.laps;
end
