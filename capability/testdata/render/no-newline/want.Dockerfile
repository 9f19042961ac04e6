FROM scratch
COPY busybox /bin/busybox

# capability "hello" (approved by alice at 2026-12-01T10:00:00Z)
RUN ["/bin/busybox", "touch", "/hello"]
