"""The MQTT bus between the engine and the consoles: topics, schemas, broker, client.

See ``topics`` for the tree and the access rules, ``schemas`` for the payloads,
``broker`` for the embedded amqtt broker and ``client`` for the aiomqtt wrapper.
``deploy/mosquitto/`` holds the production broker's sample config and ACL.
"""
