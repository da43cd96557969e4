function X = series(runId, signals, varargin)
%SERIES  Values of signals of a run over the API (no export job), with units and states.
%   X = pitwall.series(runId, {'lf_ttpms_1_data:LF_TTPMS_P'}, 'start', 2, 'end', 6)
%   A struct array, one per signal as asked: key, kind, t, v (column vectors; t in seconds
%   since the run's origin, NaN where a value is not a finite number), unit ('' unknown),
%   description, states (struct with codes and names, as meta.states of a MAT export;
%   [] without), decimated (true when more than 'max_points', default 200000, samples were
%   in the window: min/max per bucket). pitwall.load gives exact values in the export's
%   layout instead.
  if ischar(signals), signals = {signals}; end
  names = {'start', 'end', 'max_points'};
  query = {};
  for k = 1:numel(signals)
    query = [query, {'signals', signals{k}}]; %#ok<AGROW>
  end
  for k = 1:2:numel(varargin)
    name = lower(varargin{k});
    if ~any(strcmp(name, names))
      error('pitwall:badArgs', 'pitwall.series: unknown option %s (use %s)', name, strjoin(names, ', '));
    end
    query = [query, {name, varargin{k + 1}}]; %#ok<AGROW>
  end
  % The API's own default (2,000 points) suits a plot; as the Python client, ask the most.
  if ~any(strcmpi(varargin(1:2:end), 'max_points')), query = [query, {'max_points', 200000}]; end
  body = pitwall.api('GET', ['/api/v1/runs/' runId '/series'], query);
  got = body.signals;
  if isstruct(got), got = num2cell(got); end
  X = struct('key', {}, 'kind', {}, 't', {}, 'v', {}, 'unit', {}, 'description', {}, 'states', {}, ...
             'decimated', {});
  for k = 1:numel(got)
    s = got{k};
    X(k).key = s.key;
    X(k).kind = s.kind;
    X(k).t = s.t(:);
    X(k).v = s.v(:);
    X(k).unit = text_of(s, 'unit');
    X(k).description = text_of(s, 'description');
    X(k).states = states_of(s);
    X(k).decimated = logical(s.decimated);
  end
end

function t = text_of(s, name)
  t = '';
  if isfield(s, name) && ischar(s.(name)), t = s.(name); end
end

function st = states_of(s)
%  The API sends codes as JSON object keys ("0", "-1"); jsondecode makes them field names
%  (x0, x_1) in MATLAB and Octave alike, so the code is read back from the name.
  st = [];
  raw = [];
  if isfield(s, 'states') && isstruct(s.states), raw = s.states;
  elseif isfield(s, 'enum_names') && isstruct(s.enum_names), raw = s.enum_names;
  end
  if isempty(raw), return; end
  fields = fieldnames(raw);
  codes = zeros(numel(fields), 1);
  for k = 1:numel(fields)
    codes(k) = str2double(regexprep(regexprep(fields{k}, '^x_', '-'), '^x', ''));
  end
  [codes, order] = sort(codes);
  st = struct('codes', int32(codes), 'names', {cellfun(@(f) raw.(f), fields(order), 'UniformOutput', false)});
end
