function runs = find(varargin)
%FIND  Runs matching filters, newest first, every page.
%   runs = pitwall.find('driver', 'Adam', 'track', 'Michigan', 'q', 'skidpad')
%   Filters as GET /api/v1/runs takes them. A struct array (a cell array when the runs'
%   fields differ), each with id, filename, start_time, setup, lap_count, best_lap_s, ...
  if mod(numel(varargin), 2) ~= 0
    error('pitwall:badArgs', 'pitwall.find: give filters as name, value pairs');
  end
  items = {};
  cursor = '';
  while true
    query = [varargin, {'limit', 200}];
    if ~isempty(cursor), query = [query, {'cursor', cursor}]; end
    page = pitwall.api('GET', '/api/v1/runs', query);
    got = page.items;
    if isstruct(got), got = num2cell(got); end
    items = [items; got(:)]; %#ok<AGROW>
    if ~isfield(page, 'next_cursor') || isempty(page.next_cursor), break; end
    cursor = page.next_cursor;
  end
  try
    runs = [items{:}];
  catch
    runs = items;
  end
end
