function out = units(S, name)
%UNITS  Units of the signals of what pitwall.load returned, from its signal_map.
%   U = pitwall.units(S)        containers.Map: source path ('topic:field') -> unit, for
%                               the signals whose unit is known (a repeated field: one
%                               entry per element, 'topic:field[i]').
%   u = pitwall.units(S, name)  the unit of one signal, by its source path or its MATLAB
%                               path ('VNData:vn_vel.x' or 'VNData.vn_vel.x'); '' unknown.
%   The export's signal_map holds {source_path, mat_path, unit, description} per row; an
%   export made before units existed has two columns and gives no units. State names of
%   enum signals are in S.meta.states, at the data's own path (codes, names).
  if ~isstruct(S) || ~isfield(S, 'signal_map')
    error('pitwall:badArgs', 'pitwall.units: give what pitwall.load returned (it has signal_map)');
  end
  map = S.signal_map;
  out = containers.Map('KeyType', 'char', 'ValueType', 'char');
  if size(map, 2) >= 3
    for k = 1:size(map, 1)
      if ~isempty(map{k, 3}), out(map{k, 1}) = map{k, 3}; end
    end
  end
  if nargin < 2, return; end
  unit = '';
  if isKey(out, name)
    unit = out(name);
  elseif size(map, 2) >= 3
    row = find(strcmp(map(:, 2), name), 1);
    if ~isempty(row), unit = map{row, 3}; end
  end
  out = unit;
end
