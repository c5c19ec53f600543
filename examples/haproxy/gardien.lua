-- gardien forward-auth for HAProxy 2.6 or later (Lua 5.3 and its built-in HTTP client,
-- nothing else to install): before a request is forwarded, ask gardien about it.
--
--   haproxy.cfg:   global
--                      lua-load /etc/haproxy/gardien.lua
--                  frontend ...
--                      http-request lua.gardien-auth http://127.0.0.1:8080/v1/forward-auth
--
-- gardien gets the client's headers (without the connection-level ones), the original
-- method, URI and host in X-Original-Method, X-Original-URI and X-Forwarded-Host, and the
-- client address appended to X-Forwarded-For (strip the client's own identity headers and
-- X-Forwarded-For in haproxy.cfg before this action; see the sample).
--
--   2xx     allow: the request goes on, with gardien's Remote-User, Remote-Email,
--           Remote-Name and Remote-Groups (each one replaces the client's; one gardien did
--           not send is removed) and without Remote-Amr; gardien's correlation id is kept in
--           txn.gardien_cid for the response.
--   other   the client gets gardien's answer: 401 step-up with its WWW-Authenticate, 403
--           denial page (HTML or application/problem+json), with their headers and body.
--           gardien unreachable or silent past the timeout: HAProxy's HTTP client answers
--           503 itself, passed on the same way (fail closed).
--   none    the HTTP client failed without an answer: 500 (fail closed).
--
-- HAProxy sends a Lua reply from one buffer: keep `tune.bufsize` above gardien's largest
-- page (the sample sets 32768).

local TIMEOUT_MS = 5000

-- Not passed to gardien: connection-level fields, and what this script sets itself.
local SKIP = {
  ["connection"] = true, ["keep-alive"] = true, ["proxy-connection"] = true,
  ["te"] = true, ["trailer"] = true, ["transfer-encoding"] = true, ["upgrade"] = true,
  ["content-length"] = true, ["expect"] = true, ["host"] = true,
  ["x-original-uri"] = true, ["x-original-method"] = true, ["x-original-host"] = true,
  ["x-forwarded-uri"] = true, ["x-forwarded-method"] = true, ["x-forwarded-host"] = true,
  ["x-forwarded-proto"] = true, ["x-forwarded-for"] = true,
}

-- The identity gardien answers on an allow, for the application.
local IDENTITY = { "remote-user", "remote-email", "remote-name", "remote-groups" }

-- What the client gets of a deny or challenge.
local ANSWERED = {
  "content-type", "content-language", "cache-control", "vary", "www-authenticate",
  "x-gardien-correlation-id", "x-gardien-decision", "x-gardien-error-code",
}

-- HAProxy's header lists are indexed from 0; returns a plain Lua list.
local function values(list)
  local out = {}
  if list == nil then
    return out
  end
  local i = (list[0] == nil) and 1 or 0
  while list[i] ~= nil do
    out[#out + 1] = list[i]
    i = i + 1
  end
  return out
end

local function fail_closed(txn, why)
  core.Warning("gardien-auth: " .. why .. "; answering 500 (fail closed)")
  txn:done({
    status = 500,
    headers = { ["content-type"] = { "text/plain" }, ["cache-control"] = { "no-store" } },
    body = "access cannot be checked right now\n",
  })
end

core.register_action("gardien-auth", { "http-req" }, function(txn, url)
  local request = txn.http:req_get_headers()
  local headers = {}
  for name, list in pairs(request) do
    if not SKIP[name] then
      headers[name] = values(list)
    end
  end
  local chain = values(request["x-forwarded-for"])
  chain[#chain + 1] = txn.f:src()
  headers["x-forwarded-for"] = { table.concat(chain, ", ") }
  headers["x-original-method"] = { txn.f:method() }
  headers["x-original-uri"] = { txn.f:pathq() }
  headers["x-forwarded-host"] = { txn.f:req_hdr("host") or "" }
  headers["x-forwarded-proto"] = { (txn.f:ssl_fc() == 1 or txn.f:ssl_fc() == true) and "https" or "http" }

  local ok, answer = pcall(function()
    return core.httpclient():get({ url = url, headers = headers, timeout = TIMEOUT_MS })
  end)
  if not ok then
    return fail_closed(txn, "request failed: " .. tostring(answer))
  end
  local status = answer and tonumber(answer.status) or 0
  if status == 0 then
    return fail_closed(txn, "no answer from " .. url)
  end
  local answered = answer.headers or {}

  if status >= 200 and status < 300 then
    for _, name in ipairs(IDENTITY) do
      txn.http:req_del_header(name)
      local v = values(answered[name])
      if #v > 0 then
        txn.http:req_set_header(name, v[1])
      end
    end
    txn.http:req_del_header("remote-amr")
    local cid = values(answered["x-gardien-correlation-id"])[1]
    if cid ~= nil then
      txn:set_var("txn.gardien_cid", cid)
    end
    return
  end

  local reply = { status = status, headers = {}, body = answer.body or "" }
  for _, name in ipairs(ANSWERED) do
    local v = values(answered[name])
    if #v > 0 then
      reply.headers[name] = v
    end
  end
  txn:done(reply)
end, 1)
