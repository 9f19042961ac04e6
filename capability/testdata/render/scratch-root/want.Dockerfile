# An offline bottle.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
WORKDIR /home/node

# capability "jq": the agent parses JSON (approved by alice at 2026-12-01T10:00:00Z)
RUN echo jq > /etc/jq
