"""Pipeline-status notifier: one Pub/Sub message in, a notification out to each destination.

The flow, in the order a message goes through it: decode → parse → check names and scope →
enrich → verify → route → state → render → deliver. ``handler`` runs it, ``wiring`` builds
what it runs with; every module is named here once (``tests/test_layout.py`` fails when a
module named here is gone, or a module is named neither here nor in docs/how-it-works.md).

- ``sources.pubsub``                  decode: the Pub/Sub message out of the CloudEvent
- ``sources``                         the message's kind: a final status, a job event or a sweep request
- ``sources.final_status``            parse: the exit-handler stub's final status, into a ``FinalStatus``
- ``sources.job_event``               parse: Vertex AI's job event, unless the stub's own message covers it
- ``sources.sweep``                   parse: a sweep request into a "still running" notice per hung run
- ``sources.digest``                  parse: the weekly digest's request (``action=digest``) into its period
- ``digest``                          the weekly digest sent: one pass over the period's runs, one message per channel
- ``digest_rules``                    the weekly digest's figures per channel, pure
- ``bounded_json``                    every parser's JSON, with size, UTF-8, depth and numbers bounded
- ``names``                           check names and scope: strict grammars for job names, regions, ``Scope``
- ``enrich.vertex``                   enrich: the PipelineJob from Vertex AI into a frozen ``JobDetails``
- ``enrich.vertex_client``            enrich: Vertex AI's client class without importing all of its API
- ``enrich.pipeline_spec``            enrich: what the compiled spec says of the stub (its task, its settings)
- ``enrich.task_logs``                enrich: the failed tasks' own log lines from Cloud Logging, a Logs link
- ``enrich.calls``                    enrich: one API client per key, credentials, and why a call failed
- ``verify``                          verify: the claim against Vertex AI (confirmed, refuted, unconfirmed)
- ``routing``                         route: the stub's settings in the spec, else the first matching rule
- ``rules``                           route: the routing table (``ROUTES``) parsed once into frozen rules
- ``pacing``                          a place in each target's queue; a busy target hands the message back
- ``state.claims``                    state: one delivery per run, state, destination and address (a lease)
- ``state.streak_rules``              state: where a run goes in its pipeline's failing streak (pure)
- ``state.streaks``                   state: the streak store, read, decided and written in one transaction
- ``state.sweep_interval``            state: at most one sweep per interval across instances
- ``state.firestore``                 state: the Firestore client the stores share, and its bounded retries
- ``destinations``                    the interface every destination implements (``Destination``)
- ``destinations.content``            render: what every notification says, in what order (scrubbed)
- ``destinations.slack.render``       render: Slack's Block Kit message (pure)
- ``destinations.slack.thread``       render: a failing streak's root update, replies and recovery (pure)
- ``destinations.slack.deliver``      deliver: ``chat.postMessage`` and ``chat.update`` with slack_sdk
- ``destinations.slack.destination``  Slack: paced per channel, one thread per failing streak
- ``destinations.google_chat.render``       render: Google Chat's card message (pure)
- ``destinations.google_chat.deliver``      deliver: a space's incoming webhook, with ``requests``
- ``destinations.google_chat.destination``  Google Chat: paced per space, one thread per pipeline
- ``destinations.sms.render``         render: one short SMS text (pure)
- ``destinations.sms.deliver``        deliver: Twilio's official client
- ``destinations.sms.destination``    SMS: a text to each number named, never on an unconfirmed claim
- ``handler``                         runs the flow; the one place that decides acknowledge or redeliver
- ``wiring``                          builds the notifier from the configuration, only what is configured

Beside the flow, shared by all of it:

- ``settings``                        every setting, declared once (name, group, type, default, help)
- ``config``                          the typed, grouped configuration built from the settings
- ``model``                           the frozen types every step shares
- ``errors``                          the one error root: permanent (acknowledge) or transient (redeliver)
- ``scrub``                           secrets out of everything a message shows
- ``logs``                            structured logging with the message's context, never a secret
- ``version``                         the release, logged at cold start
"""
