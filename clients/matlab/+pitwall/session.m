function s = session(new)
%SESSION  The connection pitwall.connect made (internal).
  persistent current
  if nargin == 1
    current = new;
  end
  if isempty(current)
    error('pitwall:notConnected', 'pitwall: call pitwall.connect(url, token) first');
  end
  s = current;
end
