function S = load(runId, signals, varargin)
%LOAD  Signals of a run, exactly as the MAT export holds them.
%   S = pitwall.load(runId, {'VNData:vn_vel.*'}, 'start', 60, 'end', 90)
%   S.VNData.t, S.VNData.vn_vel.x ... (one struct per topic, signal_map, meta): the
%   export's own file, made by the converter, downloaded and loaded, so the values are the
%   ones `pitwall convert` writes. Options: 'start', 'end' (seconds since the run's origin),
%   'event' (an event id: its window), 'resample_hz'.
  if ischar(signals), signals = {signals}; end
  body = struct('runs', {{runId}}, 'signals', {signals(:)'}, 'format', 'mat', 'layout', 'struct');
  names = {'start', 'end', 'event', 'resample_hz'};
  for k = 1:2:numel(varargin)
    name = lower(varargin{k});
    if ~any(strcmp(name, names))
      error('pitwall:badArgs', 'pitwall.load: unknown option %s (use %s)', name, strjoin(names, ', '));
    end
    body.(name) = varargin{k + 1};
  end
  job = pitwall.api('POST', '/api/v1/exports', {}, body);
  last = '';
  while true
    status = pitwall.api('GET', ['/api/v1/exports/' job.id]);
    line = sprintf('export %s: %3.0f %%', status.status, 100 * status.progress);
    if ~strcmp(line, last), fprintf('%s\n', line); last = line; end
    if strcmp(status.status, 'done'), break; end
    if strcmp(status.status, 'failed')
      reason = 'the export failed';
      if isfield(status, 'reason') && ~isempty(status.reason), reason = status.reason; end
      error('pitwall:exportFailed', 'pitwall.load: %s', reason);
    end
    pause(0.3);
  end
  file = [tempname() '.mat'];
  pitwall.api('GET', status.file_url, {}, [], file);
  cleanup = onCleanup(@() delete(file));
  S = builtin('load', file);
end
