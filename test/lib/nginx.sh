# test/lib/nginx.sh — a real nginx on 127.0.0.1 for transfer tests and benchmarks, sourced after
# test/lib/cluster.sh (whose cluster_stop stops it by PID).
#
#   nginx_start ROOT [CONF]    serve ROOT on a free port; CONF is extra text for the server block
#                              (e.g. WebDAV directives); sets NGINX_URL and NGINX_DIR
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

nginx_start() {
  local root=$1 extra=${2:-} port attempt
  NGINX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pg_mlops_nginx.XXXXXX")
  SERVER_DIRS+=("$NGINX_DIR")
  mkdir -p "$NGINX_DIR/logs" "$NGINX_DIR/tmp"
  for attempt in 1 2 3 4 5; do
    port=$(_cluster_free_port) || return 1
    cat >"$NGINX_DIR/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
events { worker_connections 1024; }
http {
  access_log $NGINX_DIR/logs/access.log;
  client_body_temp_path $NGINX_DIR/tmp/body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
    $extra
  }
}
CONF
    "$NGINX_BIN" -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e "$NGINX_DIR/logs/error.log" &
    SERVER_PIDS+=($!)
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        NGINX_URL="http://127.0.0.1:$port"
        export NGINX_URL NGINX_DIR
        return 0
      fi
      kill -0 "${SERVER_PIDS[-1]}" 2>/dev/null || break
      sleep 0.05
    done
  done
  echo "nginx_start: nginx did not start; its log:" >&2
  cat "$NGINX_DIR/logs/error.log" >&2
  return 1
}
