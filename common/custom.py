"""Custom messages (Rasa's ``json_message``) the action server sends and the gateway reads.
Shared by both environments; imports nothing."""

# Sent right after a reply that may be left out: the "or did you mean" choices after an unsure
# answer (actions.conversation), which the gateway drops over SMS, the last first, while they
# would take the reply past its segment budget (gateway.rasa_client.parse, gateway.channels.sms).
OPTIONAL = {"optional": True}
