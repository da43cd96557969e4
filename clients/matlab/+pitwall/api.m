function out = api(method, path, query, body, outfile)
%API  One request to the pitwall API (internal); an error carries the API's own reason.
%   Both MATLAB and Octave go through curl: Octave's webwrite cannot send a JSON body and
%   neither webread nor webwrite keeps the API's error text, which is what a user needs.
  if nargin < 3, query = {}; end
  if nargin < 4, body = []; end
  if nargin < 5, outfile = ''; end
  s = pitwall.session();
  url = [s.url path];
  if ~isempty(query)
    parts = cell(1, numel(query) / 2);
    for k = 1:2:numel(query)
      parts{(k + 1) / 2} = [encode(query{k}) '=' encode(as_text(query{k + 1}))];
    end
    url = [url '?' strjoin(parts, '&')];
  end
  response = outfile;
  if isempty(outfile)
    response = [tempname() '.json'];
  end
  cfg = [tempname() '.curl'];
  lines = {['url = "' url '"'], ['header = "Authorization: Bearer ' s.token '"'], ...
           ['request = "' method '"'], ['output = "' response '"'], 'write-out = "%{http_code}"', ...
           'silent', 'show-error', 'location'};
  if ~isempty(body)
    payload = [tempname() '.json'];
    write_text(payload, jsonencode(body));
    lines = [lines, {'header = "Content-Type: application/json"', ['data-binary = "@' payload '"']}];
  end
  write_text(cfg, strjoin(lines, sprintf('\n')));
  % The token is in the config file, never on a command line other users can see.
  [rc, printed] = system(['curl -K "' cfg '"']);
  delete(cfg);
  if ~isempty(body), delete(payload); end
  status = str2double(strtrim(printed));
  if rc ~= 0 || isnan(status)
    error('pitwall:network', 'pitwall: cannot reach %s (%s)', s.url, strtrim(printed));
  end
  text = '';
  if exist(response, 'file') && (isempty(outfile) || status >= 400)
    text = fileread(response);
    if isempty(outfile) || status >= 400, delete(response); end
  end
  if status >= 400
    % The identifier carries the API's machine-readable code (pitwall:http:not_found,
    % pitwall:http:forbidden...): decide on ME.identifier, not on the message.
    error(identifier(text), 'pitwall: %s %s: HTTP %d: %s', method, path, status, describe(text));
  end
  if isempty(outfile)
    out = [];
    if ~isempty(strtrim(text)), out = jsondecode(text); end
  else
    out = outfile;
  end
end

function t = as_text(v)
  if ischar(v), t = v; elseif islogical(v), t = lower(mat2str(v)); else, t = num2str(v, 17); end
end

function e = encode(t)
  e = '';
  for c = t
    if ismember(c, ['A':'Z' 'a':'z' '0':'9' '-_.~']), e = [e c]; else, e = [e sprintf('%%%02X', double(c))]; end %#ok<AGROW>
  end
end

function write_text(file, text)
  fid = fopen(file, 'w');
  fwrite(fid, text);
  fclose(fid);
end

function d = describe(text)
  d = strtrim(text);
  try
    j = jsondecode(text);
    if isfield(j, 'detail')
      detail = j.detail;
      if ischar(detail)
        d = detail;
      else
        if ~iscell(detail), detail = num2cell(detail); end
        msgs = cellfun(@(e) e.msg, detail, 'UniformOutput', false);
        d = strjoin(msgs, '; ');
      end
    end
  catch
  end
end

function id = identifier(text)
  id = 'pitwall:http';
  try
    j = jsondecode(text);
    if isfield(j, 'code') && ischar(j.code) && ~isempty(regexp(j.code, '^[a-z][a-z0-9_]*$', 'once'))
      id = ['pitwall:http:' j.code];
    end
  catch
  end
end
