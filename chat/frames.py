"""Watching one conversation's channel group while its answers stream: what
the chat and arena sockets add to core's frame consumer.

A socket that only watches costs no database query: an answer whose worker
died is found by one reaper in beat (chatsite/tasks.py), which tells the
conversation's group like any other change of state."""

from core.frames import FrameConsumer

from .events import conversation_group


class ConversationFrameConsumer(FrameConsumer):
    conversation_id: int | None = None

    async def disconnect(self, code):
        if self.conversation_id:
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)

    async def _watch(self, conversation_id: int):
        if self.conversation_id == conversation_id:
            return
        if self.conversation_id:
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)
        self.conversation_id = conversation_id
        await self.channel_layer.group_add(conversation_group(conversation_id), self.channel_name)

    def rejoin_groups(self) -> list[str]:
        groups = super().rejoin_groups()
        return groups + [conversation_group(self.conversation_id)] if self.conversation_id else groups
