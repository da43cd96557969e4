function me = connect(url, token)
%CONNECT  Remember the server and token for the other pitwall functions.
%   me = pitwall.connect('http://127.0.0.1:8000', getenv('PITWALL_TOKEN'))
%   checks the token (GET /api/v1/me) and returns who it belongs to.
  if nargin < 2 || isempty(token)
    error('pitwall:noToken', 'pitwall: give a token (pitwall token create, or the web page''s admin token)');
  end
  while ~isempty(url) && url(end) == '/'
    url = url(1:end-1);
  end
  pitwall.session(struct('url', url, 'token', token));
  me = pitwall.api('GET', '/api/v1/me');
end
