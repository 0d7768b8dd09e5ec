(define (problem trajkit_1_pick_heat_then_place_in_recep)
    (:domain alfred)
    (:objects
        agent1 - agent
        locCenter - location
        loc1 - location
        loc2 - location
        loc3 - location
        loc4 - location
        loc5 - location
        loc6 - location
        loc7 - location
        loc8 - location
        CabinetType - rtype
        CounterTopType - rtype
        DiningTableType - rtype
        FridgeType - rtype
        GarbageCanType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        AppleType - otype
        BreadType - otype
        ButterKnifeType - otype
        KnifeType - otype
        MugType - otype
        TomatoType - otype
        Cabinet_bar_00 - receptacle
        CounterTop_bar_01 - receptacle
        CounterTop_bar_00 - receptacle
        DiningTable_bar_00 - receptacle
        Fridge_bar_00 - receptacle
        GarbageCan_bar_00 - receptacle
        Microwave_bar_00 - receptacle
        Sink_bar_00_bar_SinkBasin - receptacle
        Apple_bar_00 - object
        Bread_bar_00 - object
        Mug_bar_00 - object
        Knife_bar_00 - object
        Tomato_bar_00 - object
    )
    (:init
        (atLocation agent1 locCenter)
        (receptacleType Cabinet_bar_00 CabinetType)
        (receptacleAtLocation Cabinet_bar_00 loc1)
        (openable Cabinet_bar_00)
        (canContain CabinetType MugType)
        (receptacleType CounterTop_bar_01 CounterTopType)
        (receptacleAtLocation CounterTop_bar_01 loc2)
        (canContain CounterTopType AppleType)
        (canContain CounterTopType BreadType)
        (canContain CounterTopType ButterKnifeType)
        (canContain CounterTopType KnifeType)
        (canContain CounterTopType MugType)
        (canContain CounterTopType TomatoType)
        (receptacleType CounterTop_bar_00 CounterTopType)
        (receptacleAtLocation CounterTop_bar_00 loc3)
        (receptacleType DiningTable_bar_00 DiningTableType)
        (receptacleAtLocation DiningTable_bar_00 loc4)
        (canContain DiningTableType AppleType)
        (canContain DiningTableType BreadType)
        (canContain DiningTableType ButterKnifeType)
        (canContain DiningTableType KnifeType)
        (canContain DiningTableType MugType)
        (canContain DiningTableType TomatoType)
        (receptacleType Fridge_bar_00 FridgeType)
        (receptacleAtLocation Fridge_bar_00 loc5)
        (openable Fridge_bar_00)
        (canContain FridgeType AppleType)
        (canContain FridgeType BreadType)
        (canContain FridgeType MugType)
        (canContain FridgeType TomatoType)
        (receptacleType GarbageCan_bar_00 GarbageCanType)
        (receptacleAtLocation GarbageCan_bar_00 loc6)
        (canContain GarbageCanType AppleType)
        (canContain GarbageCanType BreadType)
        (canContain GarbageCanType TomatoType)
        (receptacleType Microwave_bar_00 MicrowaveType)
        (receptacleAtLocation Microwave_bar_00 loc7)
        (openable Microwave_bar_00)
        (canContain MicrowaveType AppleType)
        (canContain MicrowaveType BreadType)
        (canContain MicrowaveType MugType)
        (canContain MicrowaveType TomatoType)
        (receptacleType Sink_bar_00_bar_SinkBasin SinkBasinType)
        (receptacleAtLocation Sink_bar_00_bar_SinkBasin loc8)
        (canContain SinkBasinType AppleType)
        (canContain SinkBasinType ButterKnifeType)
        (canContain SinkBasinType KnifeType)
        (canContain SinkBasinType MugType)
        (canContain SinkBasinType TomatoType)
        (objectType Apple_bar_00 AppleType)
        (inReceptacle Apple_bar_00 Fridge_bar_00)
        (objectAtLocation Apple_bar_00 loc5)
        (heatable Apple_bar_00)
        (coolable Apple_bar_00)
        (cleanable Apple_bar_00)
        (pickupable Apple_bar_00)
        (objectType Bread_bar_00 BreadType)
        (inReceptacle Bread_bar_00 CounterTop_bar_01)
        (objectAtLocation Bread_bar_00 loc2)
        (heatable Bread_bar_00)
        (coolable Bread_bar_00)
        (pickupable Bread_bar_00)
        (objectType Mug_bar_00 MugType)
        (inReceptacle Mug_bar_00 Cabinet_bar_00)
        (objectAtLocation Mug_bar_00 loc1)
        (heatable Mug_bar_00)
        (coolable Mug_bar_00)
        (cleanable Mug_bar_00)
        (pickupable Mug_bar_00)
        (objectType Knife_bar_00 KnifeType)
        (inReceptacle Knife_bar_00 CounterTop_bar_00)
        (objectAtLocation Knife_bar_00 loc3)
        (cleanable Knife_bar_00)
        (pickupable Knife_bar_00)
        (objectType Tomato_bar_00 TomatoType)
        (inReceptacle Tomato_bar_00 DiningTable_bar_00)
        (objectAtLocation Tomato_bar_00 loc4)
        (heatable Tomato_bar_00)
        (coolable Tomato_bar_00)
        (cleanable Tomato_bar_00)
        (pickupable Tomato_bar_00)
    )
        (:goal
            (and
                (exists (?r - receptacle)
                    (exists (?o - object)
                        (and
                            (heatable ?o)
                            (objectType ?o AppleType)
                            (receptacleType ?r DiningTableType)
                            (isHot ?o)
                            (inReceptacle ?o ?r)
                        )
                    )
                )
            )
        )
    )
    
